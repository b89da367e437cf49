"""The source documents, cited by title and edition (never by file name)."""

from __future__ import annotations

from .model import Source

__all__ = [
    "EECS182_FINAL",
    "EECS182_FINAL_DOCUMENT",
    "EECS182_HW7",
    "EECS182_HW7_DOCUMENT",
    "HW1_BONUS",
    "HW1_BONUS_FALL_2025",
    "HW1_BONUS_SPRING_2026",
    "both_editions",
    "cite",
    "exam",
    "fall",
    "hw7",
    "spring",
]

HW1_BONUS = "CMU 11-785 Homework 1 Bonus"
HW1_BONUS_SPRING_2026 = "Spring 2026"
HW1_BONUS_FALL_2025 = "Fall 2025"
EECS182_FINAL = "UC Berkeley EECS 182 Final Exam"
EECS182_FINAL_EDITION = "Spring 2023"
EECS182_HW7 = "UC Berkeley EECS 182 Homework 7"
EECS182_HW7_EDITION = "Spring 2023"
#: The two EECS 182 documents with their edition, as an erratum names its document.
EECS182_FINAL_DOCUMENT = f"{EECS182_FINAL} ({EECS182_FINAL_EDITION})"
EECS182_HW7_DOCUMENT = f"{EECS182_HW7} ({EECS182_HW7_EDITION})"


def cite(document: str, edition: str, section: str, equation: str | None = None) -> Source:
    return Source(document=document, edition=edition, section=section, equation=equation)


def spring(section: str, equation: str | None = None) -> Source:
    """CMU 11-785 Homework 1 Bonus, Spring 2026: secs. 4 Adam, 5 AdamW, 6 LayerNorm (6.1
    forward, 6.2 backward), 7 Dropout."""
    return cite(HW1_BONUS, HW1_BONUS_SPRING_2026, section, equation)


def fall(section: str, equation: str | None = None) -> Source:
    """CMU 11-785 Homework 1 Bonus, Fall 2025: secs. 4 Adam, 5 AdamW, 6 Dropout (no
    LayerNorm)."""
    return cite(HW1_BONUS, HW1_BONUS_FALL_2025, section, equation)


def both_editions(
    section: str, equation: str | None = None, *, fall_section: str | None = None
) -> Source:
    """Both editions of the CMU 11-785 Homework 1 Bonus, where they state the same thing.

    ``section`` is the Spring 2026 numbering; ``fall_section`` the Fall 2025 one where it
    differs (the Fall edition has no LayerNorm section, so Dropout is sec. 6 there, not 7).
    """
    if fall_section is not None and fall_section != section:
        section = f"{section} (Fall 2025: {fall_section})"
    return cite(HW1_BONUS, f"{HW1_BONUS_SPRING_2026} and {HW1_BONUS_FALL_2025}", section, equation)


def exam(section: str, equation: str | None = None) -> Source:
    return cite(EECS182_FINAL, EECS182_FINAL_EDITION, section, equation)


def hw7(section: str, equation: str | None = None) -> Source:
    """UC Berkeley EECS 182 Homework 7 with solutions, Spring 2023 (``section`` is the question,
    e.g. ``"Q5(d)"``)."""
    return cite(EECS182_HW7, EECS182_HW7_EDITION, section, equation)
