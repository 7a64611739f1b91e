"""`rcmflow demo`: the meeting of 29–30 March 2017 and what followed, played end to end.

The scenario follows the public report of the meeting that agreed the roadmap: the
Troika agenda agreed with the SACM, input on the first three themes (some of it
late), the amendments of Guatemala and Honduras to Mexico's base text, the terms the
United States asked to keep out, an objection that holds adoption until it is
withdrawn, the regional review that must wait for all consultations, and the
Technical Secretariat's background paper. It runs on a clock of its own, so dates in
the history are those of 2017.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Callable

from rcmflow import Engine
from rcmflow.errors import Blocked, RcmflowError
from rcmflow.default_plugins.scenario.plan import apply_plan
from rcmflow.default_plugins.scenario.sessions import record_work_session

MEMBERS = ["BZ", "CA", "CR", "DO", "SV", "GT", "HN", "MX", "NI", "PA", "US"]

BASE_TEXT = """\
Proposal of Mexico: elements for the input of the RCM to the Global Compact

1. Protect the human rights of all migrants, regardless of their status,
   with special attention to those in vulnerable situations and to migrants
   who are victims of crime.
2. Address the drivers of migration, including the adverse effects of
   climate change and natural disasters.
3. Strengthen international cooperation and the governance of migration.
4. Recognise the contributions of migrants and diasporas to development.
5. Promote orderly and safe migration flows and more efficient border
   management.
6. Expand regular pathways and labour mobility.
7. Strengthen the consular protection of migrants in transit and return.
"""

DECLARATION_DRAFT = """\
Declaration of the Regional Conference on Migration on the Global Compact

1. We commit to protect the human rights of all migrants, with special attention
   to those in vulnerable situations and to migrants who are victims of crimes,
   and to promote access to justice in countries of transit, return and destination.
2. We will address the drivers of migration, including climate change and disasters.
3. We will strengthen cooperation and the governance of migration in the region.
4. We recognise the contributions of migrants and diasporas to development.
5. We will promote orderly and safe migration flows and more efficient border management.
6. We will expand regular pathways and labour mobility.
7. We will strengthen consular protection of migrants in transit and return.
8. We will combat the smuggling of migrants, trafficking in persons and modern
   slavery, and protect and assist their victims.
"""

# What some countries sent on theme 1 (human rights, inclusion, non-discrimination).
THEME_1_INPUT = {
    "CA": "Protection of the human rights of all migrants regardless of status; integration services from arrival.",
    "CR": "Access to health and education for migrants; campaigns against xenophobia in host communities.",
    "SV": "Consular protection and assistance to returned migrants, with special attention to children.",
    "GT": "Migrants as victims of crimes: access to justice in countries of transit, return and destination.",
    "HN": "Protection of unaccompanied migrant children and family reunification.",
    "MX": "A rights-based approach to migration governance; non-detention of migrant children.",
    "PA": "Shared responsibility for extra-regional migrants in transit; humanitarian assistance.",
    "US": "Rule of law and orderly migration; protection of victims of trafficking.",
}

BACKGROUND_PAPER = """\
# The RCM's experience with the topics of the Global Compact on Migration

Draft of the Technical Secretariat for the review of the member countries.

1. Protection of migrants in vulnerable situations
2. Return and reintegration
3. Labour mobility and regular pathways
"""

# The secretariat's disposition of each amendment for the agreed draft.
DISPOSITIONS = [
    ("GT 1", "taken_in", ""),
    ("GT 2", "taken_in", ""),
    ("GT 3", "not_taken_in", "item 5 stays as Mexico proposed it, for the online meeting of 24 April to discuss"),
    ("HN 1", "merged", "into the new item 8, with the protection of victims"),
    ("US 1", "taken_in", ""),
]

ADOPTED_TEXT = (DECLARATION_DRAFT
                .replace(" and more efficient border management", "")
                .replace("trafficking in persons and modern\n   slavery,", "trafficking in persons,\n  "))


class DemoClock:
    """The scenario's own time, set forward as the story goes; like a real clock it
    moves on a little each time it is read, so no two steps share a moment."""

    def __init__(self, start: dt.datetime):
        self.now = start

    def __call__(self) -> dt.datetime:
        self.now += dt.timedelta(milliseconds=1)
        return self.now

    def set(self, day: str, hour: int = 10) -> None:
        self.now = dt.datetime.fromisoformat(day).replace(hour=hour, tzinfo=dt.timezone.utc)


TS, PPT = "ts-officer", "sv-ppt"


class Story:
    """The scenario's narrator: fires each step as its actor and tells what happened."""

    def __init__(self, engine: Engine, clock: DemoClock, say: Callable[[str], None]):
        self.engine, self.clock, self.say = engine, clock, say

    def fire(self, actor: str, instance: str, trigger: str, participant: str | None = None,
             note: str | None = None, quiet: bool = False, files: tuple[Path, ...] = (), **values: str) -> bool:
        who = self.engine.acting_as(actor)
        where = f"{instance} {participant}" if participant else instance
        try:
            result = who.fire(instance, trigger, participant, note, values, list(files))
        except Blocked as exc:
            self.tell(f"{actor:<15} {trigger:<22} {where:<22} BLOCKED: {exc}")
            return False
        if not quiet:
            self.tell(f"{actor:<15} {trigger:<22} {where:<22} {result.source} -> {result.dest}")
        return True

    def tell(self, line: str) -> None:
        """One line of the story, dated by the scenario's clock."""
        self.say(f"  {self.clock.now:%Y-%m-%d}  {line}")

    def summary(self, instance: str, what: str) -> None:
        tracks = self.engine.get(instance).tracks.values()
        states = ", ".join(f"{sum(t.state == s for t in tracks)} {s}" for s in sorted({t.state for t in tracks}))
        self.tell(f"{'(every member)':<15} {what:<22} {instance:<22} {states}")

    def chapter(self, title: str) -> None:
        self.say("")
        self.say(title)


def play(engine: Engine, clock: DemoClock, say: Callable[[str], None]) -> None:
    """Run the whole scenario on `engine`, whose clock is `clock`, telling each step."""
    story = Story(engine, clock, say)
    for chapter in (set_up, troika_meeting, theme_1, themes_2_and_3, amendments, adoption,
                    regional_review, background_paper):
        chapter(story)


def set_up(story: Story) -> None:
    story.chapter("1. The roadmap is set up (rcmflow quickstart)")
    story.clock.set("2017-03-29", 9)
    story.engine.init()
    for item, started in apply_plan(story.engine):
        if started:
            story.say(f"  started {item.id} ({item.workflow})")


def troika_meeting(story: Story) -> None:
    fire, troika = story.fire, "troika-2017-03-30"
    story.chapter("2. The presidents of the RCPs meet with the CAM; the Troikas of the RCM and the SACM meet")
    # "the week before they had met with the president of the CAM": recorded on the 29th, no report
    cam = "rcp-meeting-2017-03-22"
    for code, actor in (("SV", "sv-focal"), ("CAM", "cam-focal")):
        fire(actor, cam, "attend", code, quiet=True)
    fire(PPT, cam, "hold_meeting")
    fire(PPT, cam, "close_without_report",
         note="a first meeting of the presidents of the RCPs, to know each other: by agreement, no report")
    fire(PPT, troika, "call_for_agenda")
    # every delegation of the RCM and the SACM may propose items; the PPT decides the agenda
    fire("us-focal", troika, "propose_items", "US", items="Contents and schedule of the GCM")
    fire("do-focal", troika, "propose_items", "DO", items="Migration flows towards the RCM region and towards Europe")
    fire("mx-focal", troika, "propose_items", "MX", items="The RCM's joint declaration on the GCM")
    fire("hn-focal", troika, "propose_items", "HN", items="Extra-regional and extra-continental migrants")
    fire("sv-focal", troika, "propose_items", "SV", items="Experiences of the RCPs, for the Caribbean")
    fire("pa-focal", troika, "propose_items", "PA", items="Extra-regional flows, seen from transit countries")
    fire("sacm-focal", troika, "propose_items", "SACM", items="Contents and schedule of the GCM")
    fire(PPT, troika, "agree_agenda")  # blocked: no agenda text yet
    fire(PPT, troika, "agree_agenda", agenda=(
        "1. Contents and schedule of the GCM; 2. Migration flows towards the RCM region and towards "
        "Europe, extra-regional and extra-continental migrants; 3. The RCM's joint declaration on the "
        "GCM; 4. Agreements and non-agreements concerning the GCM"))
    story.clock.set("2017-03-30", 15)
    fire(PPT, troika, "hold_meeting")
    fire(PPT, troika, "record_outcome",
         agreements="The GCM is the only topic; human rights as the focus of bi-regional input",
         non_agreements="The best practices to share: to be limited to the topics of the New York Declaration")
    fire(TS, troika, "circulate_report")


def theme_1(story: Story) -> None:
    fire, engine, clock = story.fire, story.engine, story.clock
    story.chapter("3. Countries send their input on the first three themes")
    clock.set("2017-03-31")
    for theme in ("theme-1", "theme-2", "theme-3"):
        fire(TS, theme, "open")
    clock.set("2017-04-12")
    fire("gt-focal", "theme-1", "start_drafting", "GT")
    for country in MEMBERS:
        if country not in ("NI", "BZ"):
            fire(f"{country.lower()}-focal", "theme-1", "submit", country, **(
                {"input": THEME_1_INPUT[country]} if country in THEME_1_INPUT else {}))
    work_sessions(story)
    clock.set("2017-04-21", 8)
    report = engine.tick()
    for instance, reason in report.waiting:
        story.tell(f"rcmflow tick      deadline of {instance} passed, waiting: {reason.split(': ', 1)[1]}")
    late = [c for c, t in engine.get("theme-1").tracks.items() if t.overdue]
    story.tell(f"status            overdue on theme-1: {', '.join(late)}")
    clock.set("2017-04-24")
    fire("ni-focal", "theme-1", "submit", "NI", note="sent after the deadline")
    fire("bz-focal", "theme-1", "submit", "BZ", note="sent after the deadline")
    for fired in engine.tick().fired:
        story.tell(f"rcmflow tick      {fired.id}: {fired.trigger} ({fired.source} -> {fired.dest})")
    fire(TS, "theme-1", "return_for_revision", "CR", note="please add the figures on returns")
    fire("cr-focal", "theme-1", "submit", "CR")
    for country in MEMBERS:
        fire(TS, "theme-1", "accept", country, quiet=True)
    story.summary("theme-1", "accept")
    fire(TS, "theme-1", "circulate")
    fire(PPT, "theme-1", "submit_regional_input")


#: the countries present at Mexico's work session on the first three themes
AT_THE_SESSION = ["CR", "DO", "SV", "GT", "HN", "MX", "NI", "PA"]


def work_sessions(story: Story) -> None:
    """Mexico's work session gathers the input on themes 2 and 3 of the countries
    present, before the deadline of the 24 April meeting; the others send theirs."""
    fire, engine = story.fire, story.engine
    story.clock.set("2017-04-19")
    taken = record_work_session(engine, ["theme-2", "theme-3"], dt.date(2017, 4, 19), "Mexico City",
                                AT_THE_SESSION, [], say=lambda line: None)
    story.tell(f"{TS:<15} {'work-session':<22} {'theme-2, theme-3':<22} {taken} tracks submitted: "
               f"{', '.join(AT_THE_SESSION)} present in Mexico City")
    for theme in ("theme-2", "theme-3"):
        for country in ("BZ", "CA", "US"):
            if country == "US" and theme == "theme-2":
                fire("us-focal", theme, "decline", country, note="no input on this theme")
            else:
                fire(f"{country.lower()}-focal", theme, "submit", country, quiet=True)
        story.summary(theme, "submit")


def themes_2_and_3(story: Story) -> None:
    fire = story.fire
    for theme in ("theme-2", "theme-3"):  # closed by their deadline (tick), all answered
        for country in MEMBERS:
            if story.engine.get(theme).tracks[country].state == "submitted":
                fire(TS, theme, "accept", country, quiet=True)
        story.summary(theme, "accept")
        fire(TS, theme, "circulate")
        fire(PPT, theme, "submit_regional_input")


DECLARATION = "declaration-2017"


def amendments(story: Story) -> None:
    fire, clock = story.fire, story.clock
    story.chapter("4. Mexico's base text: amendments, the agreed draft, the declaration")
    clock.set("2017-03-31")
    fire(TS, DECLARATION, "share_base_text", text=BASE_TEXT)
    clock.set("2017-04-07")
    fire("gt-focal", DECLARATION, "propose_amendment", "GT", item="1", line="3",
         change='say "victims of crimes"', reason="migrants can be victims of various crimes")
    fire("gt-focal", DECLARATION, "propose_amendment", "GT", item="1",
         change="include access to justice, and mechanisms for it in countries of transit, return and destination")
    fire("gt-focal", DECLARATION, "propose_amendment", "GT", item="5",
         change='drop "and more efficient border management"', reason="territorial claim with Belize")
    fire("hn-focal", DECLARATION, "propose_amendment", "HN", item="new",
         change="add an item on migrant smuggling and trafficking in persons")
    fire("us-focal", DECLARATION, "propose_amendment", "US", change='do not use the terms "slavery" or "modern slavery"',
         exclude_terms="slavery; modern slavery")
    for country in MEMBERS:
        if country not in ("GT", "HN", "US"):
            fire(f"{country.lower()}-focal", DECLARATION, "no_comments", country, quiet=True)
    story.summary(DECLARATION, "no_comments")
    clock.set("2017-04-14")
    fire(TS, DECLARATION, "agree_draft")  # blocked: no amendment has a disposition yet
    for amendment, disposition, reason in DISPOSITIONS:
        fire(TS, DECLARATION, "resolve_amendment", amendment=amendment, disposition=disposition, reason=reason)


def adoption(story: Story) -> None:
    fire, clock = story.fire, story.clock
    fire(TS, DECLARATION, "agree_draft")
    fire(PPT, DECLARATION, "draft_declaration")
    fire(TS, DECLARATION, "revise_text", text=DECLARATION_DRAFT)
    # "the TS and the PPT will jointly prepare a draft": both sign off the text
    fire(TS, DECLARATION, "sign_off")
    fire(PPT, DECLARATION, "circulate_declaration")  # blocked: the PPT has not signed off
    fire(PPT, DECLARATION, "sign_off")
    fire(PPT, DECLARATION, "circulate_declaration")
    for country in MEMBERS:
        fire(f"{country.lower()}-focal", DECLARATION, "finalise_input", country, quiet=True)
    story.summary(DECLARATION, "finalise_input")
    clock.set("2017-04-24", 15)
    fire(PPT, DECLARATION, "hold_online_meeting", note="videoconference of 24 April")
    fire(PPT, DECLARATION, "open_adoption")
    for country in MEMBERS:
        if country != "GT":
            fire(f"{country.lower()}-focal", DECLARATION, "agree", country, quiet=True)
    story.summary(DECLARATION, "agree")
    fire("gt-focal", DECLARATION, "object", "GT", reason="item 5 still speaks of more efficient border management")
    fire(PPT, DECLARATION, "adopt")  # blocked: the objection, and "modern slavery"
    fire(TS, DECLARATION, "revise_text", text=ADOPTED_TEXT, note="item 5 shortened; item 8 without the restricted term")
    fire("gt-focal", DECLARATION, "withdraw_objection", "GT")
    fire(PPT, DECLARATION, "adopt")


def regional_review(story: Story) -> None:
    story.chapter("5. The regional review waits for every consultation")
    story.fire(TS, "review-2017", "compile")


def background_paper(story: Story) -> None:
    fire, clock = story.fire, story.clock
    story.chapter("6. The Technical Secretariat's background paper")
    clock.set("2017-05-02")
    draft = story.engine.home / "drafts" / "background-paper.md"  # the TS's draft, sent with the request
    draft.parent.mkdir(exist_ok=True)
    draft.write_text(BACKGROUND_PAPER, encoding="utf-8")
    fire(TS, "background-paper", "send_for_review", files=(draft,))
    clock.set("2017-05-20")
    for country in ("MX", "GT", "CA", "PA"):
        fire(f"{country.lower()}-focal", "background-paper", "review", country, comments="see attached remarks")
    fire("us-focal", "background-paper", "no_comments", "US")
    clock.set("2017-06-01", 6)
    for fired in story.engine.tick().fired:
        story.tell(f"rcmflow tick      {fired.id}: review closed by its deadline ({fired.source} -> {fired.dest})")
    fire(TS, "background-paper", "publish")


def run_demo(engine_factory: Callable[[DemoClock], Engine], say: Callable[[str], None]) -> Engine:
    """Build the demo's engine on its own clock and play the scenario: a replay of
    2017, so it states so (a step may open after its deadline, as in the report)."""
    clock = DemoClock(dt.datetime(2017, 3, 29, 9, tzinfo=dt.timezone.utc))
    engine = engine_factory(clock).replaying()
    try:
        play(engine, clock, say)
    except RcmflowError:
        engine.close()
        raise
    return engine
