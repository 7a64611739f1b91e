"""A definition's state diagram: Mermaid text (GitHub renders it), Graphviz dot, or SVG.

With an instance given, its current state (and its tracks' states) is highlighted.
SVG is drawn by Graphviz's `dot` program when it is installed.
"""

from __future__ import annotations

import shutil
import subprocess

from rcmflow.model.definition import Definition, MachineDef
from rcmflow.errors import BadInput

FORMATS = ("mermaid", "dot", "svg")


def _edges(mdef: MachineDef) -> list[tuple[str, str, str]]:
    return [(source, t.dest, t.trigger) for t in mdef.transitions for source in t.sources]


def render_graph(definition: Definition, fmt: str = "mermaid", current: str | None = None,
                 track_states: set[str] = frozenset()) -> str:
    """The diagram in `fmt`; `current` is the instance's state, `track_states` the
    states its tracks are in (both highlighted)."""
    if fmt == "mermaid":
        return _mermaid(definition, current, track_states)
    dot = _dot(definition, current, track_states)
    return dot if fmt == "dot" else to_svg(dot)


def to_svg(dot: str) -> str:
    program = shutil.which("dot")
    if program is None:
        raise BadInput("SVG needs Graphviz's dot program (apt-get install graphviz); "
                       "or use --format mermaid or --format dot")
    done = subprocess.run([program, "-Tsvg"], input=dot, capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise BadInput(f"Graphviz could not draw the diagram: {done.stderr.strip().splitlines()[0]}")
    return done.stdout


def _mermaid(definition: Definition, current: str | None, track_states: set[str]) -> str:
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
    if current:
        lines.append("    classDef current fill:#1f4e79,color:#fff,font-weight:bold")
        lines.append(f"    class {current} current")
    if track_states:
        lines.append("    classDef reached fill:#dbe8f5")
        lines.append(f"    class {','.join('track_' + s for s in sorted(track_states))} reached")
    return "\n".join(lines)


def _dot(definition: Definition, current: str | None, track_states: set[str]) -> str:
    lines = [f'digraph "{definition.name}" {{', "    rankdir=LR;",
             '    node [shape=box, style="rounded,filled", fillcolor=white, fontname="Helvetica"];',
             '    edge [fontname="Helvetica", fontsize=10];']
    mdef = definition.instance
    for state in mdef.states.values():
        extra = ", peripheries=2" if state.final else ""
        if state.name == current:
            extra += ', fillcolor="#1f4e79", fontcolor=white'
        lines.append(f'    "{state.name}" [label="{state.name}"{extra}];')
    lines.append(f'    start [shape=point]; start -> "{mdef.initial}";')
    for source, dest, trigger in _edges(mdef):
        lines.append(f'    "{source}" -> "{dest}" [label="{trigger}"];')
    if definition.track:
        lines.append('    subgraph cluster_track { label="each participant";')
        for state in definition.track.states:
            fill = ', fillcolor="#dbe8f5"' if state in track_states else ""
            lines.append(f'        "track:{state}" [label="{state}"{fill}];')
        for source, dest, trigger in _edges(definition.track):
            lines.append(f'        "track:{source}" -> "track:{dest}" [label="{trigger}"];')
        lines.append("    }")
    lines.append("}")
    return "\n".join(lines)
