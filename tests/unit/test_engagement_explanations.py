"""The engagement explanation (CONTRACT 4.2a) in the academy's locale, rendered from
the code ``rules.engagement`` gives."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from engine.explanations import ENGAGEMENT_CODES, render_engagement
from rules.engagement import TrackPublished, engagement_of
from rules.evidence import Interval
from rules.settings import RuleSettings

S = datetime(2025, 12, 1, 10, 0, tzinfo=UTC)
E = S + timedelta(minutes=60)
ARABIC = re.compile("[\u0600-\u06ff]")
LATIN = re.compile("[A-Za-z]")


def code_of(name: str) -> dict[str, str | int | float]:
    """A code of each kind as the rules make it: 48 min attended, camera 20 of them."""
    if name == "not_scheduled":
        return {"code": name}
    presence = [Interval("PA_a", "10", 10, "RM_1", S, S + timedelta(minutes=48), True)]
    camera = TrackPublished(
        "EV_1", "RM_1", S + timedelta(minutes=28), "PA_a", "10", "TR_1", "CAMERA"
    )
    return engagement_of(
        [camera],
        presence,
        ((S, S + timedelta(minutes=48)),),
        starts_at=S,
        ends_at=E,
        until=E,
        scored=name == "engagement",
        settings=RuleSettings(),
    ).explanation_code


class TestEngagementExplanation:
    def test_every_code_reads_in_english_and_arabic(self) -> None:
        """Each engagement code renders to English for `en` and to Arabic, with no
        English word, for `ar`."""
        for name in ENGAGEMENT_CODES:
            code = code_of(name)
            english, arabic = render_engagement(code, "en"), render_engagement(code, "ar")
            assert LATIN.search(english), name
            assert ARABIC.search(arabic) and not LATIN.search(arabic), (name, arabic)

    def test_the_score_names_its_three_parts(self) -> None:
        """48 of 60 min, camera 20 of them: 0.5 x 80 + 0.3 x 41.67 + 0 = 52.5 -> 53."""
        code = code_of("engagement")

        assert (
            "engagement 53: attendance 40 + camera 12.5 + microphone 0 points;"
            " camera 20 min, microphone 0 min, screen share 0 min of 48 min attended"
        ) == render_engagement(code, "en")
        assert (
            "التفاعل 53: الحضور 40 + الكاميرا 12.5 + الميكروفون 0 نقطة؛"
            " الكاميرا 20 دقيقة، الميكروفون 0 دقيقة، مشاركة الشاشة 0 دقيقة من 48 دقيقة حضور"
        ) == render_engagement(code, "ar")

    def test_no_code_reads_as_nothing(self) -> None:
        """A verdict written before engagement was kept, or an unknown code: empty."""
        assert ("", "") == (
            render_engagement({}, "ar"),
            render_engagement({"code": "from_the_future"}, "en"),
        )
