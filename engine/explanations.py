"""Explanations for people, rendered from a verdict's ``explanation_code``.

Rules say why with a stable code and its numbers (``rules.attendance.
explanation_code``); this catalogue turns that into one short line in the academy's
locale (CONTRACT 4.3): ``ar`` academies read Arabic, every other locale English.
The English line is the one ``rules.attendance.explain`` writes.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["CODES", "ENGAGEMENT_CODES", "LOCALES", "STATUS_WORDS", "render", "render_engagement"]

LOCALES = ("en", "ar")

# Every ``code`` an explanation can carry.
CODES = (
    "present",
    "late",
    "left_early",
    "partial",
    "absent",
    "pending",
    "never_joined",
    "teacher_report",
    "not_scheduled",
)

# Every ``code`` an engagement explanation can carry (``rules.engagement``).
ENGAGEMENT_CODES = ("engagement", "tracks", "not_scheduled")

STATUS_WORDS: dict[str, dict[str, str]] = {
    "en": {s: s for s in ("present", "late", "left_early", "partial", "absent", "pending")},
    "ar": {
        "present": "حاضر",
        "late": "متأخر",
        "left_early": "غادر مبكرًا",
        "partial": "حضور جزئي",
        "absent": "غائب",
        "pending": "قيد الانتظار",
    },
}

_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "min": "min",
        "s": "s",
        "of": "{attended} of {of}",
        "never_joined": "never joined",
        "not_joined_yet": "not joined yet",
        "teacher_report": "teacher report: {status}",
        "not_scheduled": "pending: the session is not scheduled yet",
        "so_far": "{status} so far, {detail}",
        "left_before_end": "left {span} before end",
        "joined_at_start": "joined at start",
        "joined_with_teacher": "joined with the teacher",
        "joined_after_start": "joined {span} after start",
        "joined_before_start": "joined {span} before start",
        "joined_after_teacher": "joined {span} after the teacher arrived",
        "joined_before_teacher": "joined {span} before the teacher arrived",
        "sep": ", ",
    },
    "ar": {
        "min": "دقيقة",
        "s": "ثانية",
        "of": "{attended} من {of}",
        "never_joined": "لم ينضم",
        "not_joined_yet": "لم ينضم بعد",
        "teacher_report": "تقرير المعلم: {status}",
        "not_scheduled": "قيد الانتظار: الحصة غير مجدولة بعد",
        "so_far": "{status} حتى الآن، {detail}",
        "left_before_end": "غادر قبل النهاية بـ {span}",
        "joined_at_start": "انضم عند البداية",
        "joined_with_teacher": "انضم مع وصول المعلم",
        "joined_after_start": "انضم بعد البداية بـ {span}",
        "joined_before_start": "انضم قبل البداية بـ {span}",
        "joined_after_teacher": "انضم بعد وصول المعلم بـ {span}",
        "joined_before_teacher": "انضم قبل وصول المعلم بـ {span}",
        "sep": "، ",
    },
}


def _lang(locale: str | None) -> str:
    return "ar" if locale == "ar" else "en"


def _span(seconds: int, w: Mapping[str, str]) -> str:
    minutes, rest = divmod(int(seconds), 60)
    if minutes and rest:
        return f"{minutes} {w['min']} {rest} {w['s']}"
    return f"{minutes} {w['min']}" if minutes else f"{rest} {w['s']}"


def _attended(seconds: int, w: Mapping[str, str]) -> str:
    if seconds < 120:
        return f"{seconds} {w['s']}"
    return str((seconds + 30) // 60)


def _joined(code: Mapping[str, object], w: Mapping[str, str]) -> str:
    offset = int(code.get("joined_offset_seconds", 0))  # type: ignore[call-overload]
    teacher = code.get("anchor") == "teacher"
    if offset == 0:
        return w["joined_with_teacher" if teacher else "joined_at_start"]
    side = "after" if offset > 0 else "before"
    key = f"joined_{side}_{'teacher' if teacher else 'start'}"
    return w[key].format(span=_span(abs(offset), w))


def _detail(status: str, code: Mapping[str, object], w: Mapping[str, str]) -> str:
    attended = int(code.get("attended_seconds", 0))  # type: ignore[call-overload]
    of = int(code.get("of_seconds", 0))  # type: ignore[call-overload]
    amount = w["of"].format(attended=_attended(attended, w), of=_span(of, w))
    sep = w["sep"]
    if status == "absent":
        return f"{amount} ({float(code.get('attendance_percentage', 0)):g} %)"  # type: ignore[arg-type]
    if status == "late":
        return f"{_joined(code, w)}{sep}{amount}"
    if status == "left_early" and "left_early_seconds" in code:
        early = int(code["left_early_seconds"])  # type: ignore[call-overload]
        return f"{w['left_before_end'].format(span=_span(early, w))}{sep}{amount}"
    return f"{amount}{sep}{_joined(code, w)}"


def render(
    code: Mapping[str, object] | None,
    locale: str | None,
    *,
    fallback: str = "",
    status: str | None = None,
) -> str:
    """One line for people in ``locale``. Without a code it knows (a verdict written
    before codes were kept) English readers get ``fallback``, the English line stored
    with the verdict, and others the verdict's ``status`` in their own words: stored
    English never reaches an Arabic reader."""
    lang = _lang(locale)
    if not code or "code" not in code or str(code["code"]) not in CODES:
        if lang == "en":
            return fallback
        return STATUS_WORDS[lang].get(status or "", "")
    w, statuses = _WORDS[lang], STATUS_WORDS[lang]
    name = str(code["code"])
    said_status = str(code.get("status", name))
    if name == "teacher_report":
        return w["teacher_report"].format(status=statuses.get(said_status, said_status))
    if name == "not_scheduled":
        return w["not_scheduled"]
    if name == "never_joined":
        said = w["not_joined_yet"] if said_status == "pending" else w["never_joined"]
        return f"{statuses.get(said_status, said_status)}: {said}"
    if name == "pending" and "so_far" in code:
        so_far = str(code["so_far"])
        detail = _detail(so_far, code, w)
        said = w["so_far"].format(status=statuses.get(so_far, so_far), detail=detail)
        return f"{statuses['pending']}: {said}"
    return f"{statuses[name]}: {_detail(name, code, w)}"


_ENGAGEMENT_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "engagement": (
            "engagement {score}: attendance {attendance} + camera {camera}"
            " + microphone {microphone} points; {tracks}"
        ),
        "tracks": "camera {camera}, microphone {microphone}, screen share {screen}"
        " of {attended} attended",
        "not_scheduled": "no engagement: the session is not scheduled yet",
    },
    "ar": {
        "engagement": (
            "التفاعل {score}: الحضور {attendance} + الكاميرا {camera}"
            " + الميكروفون {microphone} نقطة؛ {tracks}"
        ),
        "tracks": "الكاميرا {camera}، الميكروفون {microphone}، مشاركة الشاشة {screen}"
        " من {attended} حضور",
        "not_scheduled": "لا تفاعل: الحصة غير مجدولة بعد",
    },
}


def _duration(seconds: object, w: Mapping[str, str]) -> str:
    whole = int(seconds)  # type: ignore[call-overload]
    return f"0 {w['min']}" if whole == 0 else _span(whole, w)


def _points(value: object) -> str:
    return f"{float(value):g}"  # type: ignore[arg-type]


def render_engagement(code: Mapping[str, object] | None, locale: str | None) -> str:
    """The engagement line in ``locale``, naming its parts (CONTRACT 4.2a); empty
    when there is no code (a verdict written before engagement was kept)."""
    if not code or code.get("code") not in ENGAGEMENT_CODES:
        return ""
    lang = _lang(locale)
    w, e = _WORDS[lang], _ENGAGEMENT_WORDS[lang]
    name = str(code["code"])
    if name == "not_scheduled":
        return e["not_scheduled"]
    tracks = e["tracks"].format(
        camera=_duration(code.get("camera_seconds", 0), w),
        microphone=_duration(code.get("microphone_seconds", 0), w),
        screen=_duration(code.get("screen_share_seconds", 0), w),
        attended=_duration(code.get("attended_seconds", 0), w),
    )
    if name == "tracks":
        return tracks
    return e["engagement"].format(
        score=int(code.get("score", 0)),  # type: ignore[call-overload]
        attendance=_points(code.get("attendance_points", 0)),
        camera=_points(code.get("camera_points", 0)),
        microphone=_points(code.get("microphone_points", 0)),
        tracks=tracks,
    )
