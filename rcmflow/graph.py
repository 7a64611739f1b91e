"""A definition's state diagram as text: Mermaid (renders on GitHub) or Graphviz dot."""

from __future__ import annotations

from .definitions import Definition, MachineDef


def _edges(mdef: MachineDef) -> list[tuple[str, str, str]]:
    return [(source, t.dest, t.trigger) for t in mdef.transitions for source in t.sources]


def render_graph(definition: Definition, fmt: str = "mermaid") -> str:
    return _mermaid(definition) if fmt == "mermaid" else _dot(definition)


def _mermaid(definition: Definition) -> str:
    lines = ["stateDiagram-v2", f"    %% {definition.name} v{definition.version}"]
    mdef = definition.instance
    lines.append(f"    [*] --> {mdef.initial}")
    for source, dest, trigger in _edges(mdef):
        lines.append(f"    {source} --> {dest}: {trigger}")
    for state in mdef.states.values():
        if state.final:
            lines.append(f"    {state.name} --> [*]")
    if definition.track:
        lines.append("    state track {")
        lines.append(f"        [*] --> track_{definition.track.initial}")
        for source, dest, trigger in _edges(definition.track):
            lines.append(f"        track_{source} --> track_{dest}: {trigger}")
        lines.append("    }")
    return "\n".join(lines)


def _dot(definition: Definition) -> str:
    lines = [f'digraph "{definition.name}" {{', "    rankdir=LR;", "    node [shape=box, style=rounded];"]
    mdef = definition.instance
    for state in mdef.states.values():
        shape = ", peripheries=2" if state.final else ""
        lines.append(f'    "{state.name}" [label="{state.name}"{shape}];')
    lines.append(f'    start [shape=point]; start -> "{mdef.initial}";')
    for source, dest, trigger in _edges(mdef):
        lines.append(f'    "{source}" -> "{dest}" [label="{trigger}"];')
    if definition.track:
        lines.append('    subgraph cluster_track { label="each participant";')
        for source, dest, trigger in _edges(definition.track):
            lines.append(f'        "track:{source}" -> "track:{dest}" [label="{trigger}"];')
        lines.append("    }")
    lines.append("}")
    return "\n".join(lines)
