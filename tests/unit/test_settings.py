"""Rule settings: defaults, round trips, validation and per-type resolution."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rules.settings import SETTING_NAMES, RuleSettings, resolve_settings


class TestRuleSettings:
    def test_defaults_follow_the_contract(self) -> None:
        """The defaults are the contract's numbers."""
        assert {
            "preparation_minutes": 15,
            "buffer_minutes": 10,
            "hard_close_minutes": 60,
            "reconnect_gap_seconds": 120,
            "late_grace_minutes": 10,
            "early_leave_grace_minutes": 10,
            "full_percent": 80.0,
            "partial_percent": 50.0,
            "teacher_full_percent": 90.0,
            "teacher_partial_percent": 50.0,
            "engagement_attendance_weight": 0.5,
            "engagement_camera_weight": 0.3,
            "engagement_microphone_weight": 0.2,
        } == RuleSettings().to_dict()

    def test_setting_names_are_the_twelve_user_settings(self) -> None:
        """SETTING_NAMES lists every field except the hard close."""
        assert 12 == len(SETTING_NAMES)
        assert "hard_close_minutes" not in SETTING_NAMES
        assert set(SETTING_NAMES) | {"hard_close_minutes"} == set(RuleSettings().to_dict())

    def test_round_trips_through_a_dict(self) -> None:
        """from_dict(to_dict()) gives the same settings back."""
        settings = RuleSettings(late_grace_minutes=5, full_percent=75.5)

        assert settings == RuleSettings.from_dict(settings.to_dict())

    def test_from_dict_keeps_defaults_for_missing_names(self) -> None:
        """Only the given names change."""
        assert RuleSettings(buffer_minutes=20) == RuleSettings.from_dict({"buffer_minutes": 20})

    def test_from_dict_accepts_whole_floats_and_int_percents(self) -> None:
        """JSON's 15.0 is a whole number; 70 is a percent like 70.0."""
        settings = RuleSettings.from_dict({"preparation_minutes": 15.0, "full_percent": 70})

        assert 15 == settings.preparation_minutes
        assert isinstance(settings.preparation_minutes, int)
        assert isinstance(settings.full_percent, float)

    def test_from_dict_rejects_unknown_names(self) -> None:
        """Unknown names raise ValueError naming every one of them."""
        with pytest.raises(ValueError, match="unknown rule settings: late_grace, zzz"):
            RuleSettings.from_dict({"zzz": 1, "late_grace": 5})

    @pytest.mark.parametrize(
        ("data", "problem"),
        [
            ({"buffer_minutes": 1.5}, "buffer_minutes: must be a whole number"),
            ({"buffer_minutes": True}, "buffer_minutes: must be a number"),
            ({"full_percent": "80"}, "full_percent: must be a number"),
            ({"full_percent": float("nan")}, "full_percent: must be finite"),
            ({"full_percent": 100.5}, "full_percent: must be between 0 and 100"),
            ({"late_grace_minutes": -1}, "late_grace_minutes: must not be negative"),
        ],
    )
    def test_from_dict_rejects_bad_values(self, data: dict[str, object], problem: str) -> None:
        """Bad values raise ValueError naming the setting and the problem."""
        with pytest.raises(ValueError, match=problem):
            RuleSettings.from_dict(data)

    def test_constructor_names_every_bad_field(self) -> None:
        """Direct construction validates too and names all bad fields."""
        with pytest.raises(ValueError) as info:
            RuleSettings(buffer_minutes=-1, partial_percent=-0.5)

        assert "buffer_minutes" in str(info.value)
        assert "partial_percent" in str(info.value)

    def test_constructor_rejects_non_numbers(self) -> None:
        """A string where a number belongs is refused."""
        with pytest.raises(ValueError, match="must be a number"):
            RuleSettings(buffer_minutes="10")  # type: ignore[arg-type]

    def test_the_room_opens_the_preparation_time_before_the_start(self) -> None:
        start = datetime(2025, 12, 1, 10, 0, tzinfo=UTC)
        assert datetime(2025, 12, 1, 9, 45, tzinfo=UTC) == RuleSettings().opens_at(start)
        assert datetime(2025, 12, 1, 9, 0, tzinfo=UTC) == RuleSettings(
            preparation_minutes=60
        ).opens_at(start)

    def test_is_frozen(self) -> None:
        """Settings cannot be changed once made."""
        with pytest.raises(AttributeError):
            RuleSettings().buffer_minutes = 5  # type: ignore[misc]


class TestResolveSettings:
    def test_no_academy_rules_gives_defaults(self) -> None:
        """An academy without rules gets the defaults."""
        assert RuleSettings() == resolve_settings({}, "quran_circle")

    def test_type_rules_overlay_academy_defaults_overlay_defaults(self) -> None:
        """The session type's rules beat the academy default, which beats ours."""
        rules = {
            "default": {"late_grace_minutes": 5, "full_percent": 70},
            "quran_circle": {"full_percent": 60, "buffer_minutes": 20},
            "academic_course": {"partial_percent": 10},
        }

        assert RuleSettings(
            late_grace_minutes=5, full_percent=60.0, buffer_minutes=20
        ) == resolve_settings(rules, "quran_circle")

    def test_other_types_get_only_the_academy_default(self) -> None:
        """A type without its own rules uses the academy default."""
        rules = {"default": {"late_grace_minutes": 5}, "quran_circle": {"full_percent": 60}}

        assert RuleSettings(late_grace_minutes=5) == resolve_settings(rules, "academic_course")

    def test_hard_close_is_not_settable(self) -> None:
        """hard_close_minutes is not a user setting and is refused."""
        with pytest.raises(ValueError, match="hard_close_minutes"):
            resolve_settings({"default": {"hard_close_minutes": 5}}, "quran_circle")
