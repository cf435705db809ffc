"""Wire-agency credits and dateline stripping."""

from __future__ import annotations

import pytest

from transforms.syndication import detect_wire_credit, strip_dateline

BODY = "Syrian government forces advanced into eastern Aleppo overnight, a monitoring group said."


@pytest.mark.parametrize(
    ("dateline", "agency"),
    [
        ("BEIRUT (AP) — ", "AP"),
        ("BEIRUT, Lebanon (AP) — ", "AP"),
        ("ALEPPO, Syria, Dec 13 (Reuters) - ", "Reuters"),
        ("Beirut (AFP) – ", "AFP"),
        ("DAMASCUS (Reuters/AFP) -- ", "Reuters"),
        ("MOSCOW, December 5. /TASS/. ", "TASS"),
        ("Damascus, SANA – ", "SANA"),
        ("ANKARA (AA) – ", "Anadolu"),
        ("Aleppo, Dec 13 (Xinhua) -- ", "Xinhua"),
        ("BERLIN (dpa) - ", "dpa"),
    ],
)
def test_dateline_credit_is_detected_and_stripped(dateline, agency):
    assert detect_wire_credit(dateline + BODY) == agency
    assert strip_dateline(dateline + BODY) == BODY


@pytest.mark.parametrize(
    ("text", "agency"),
    [
        (BODY + " The Associated Press contributed to this report.", "AP"),
        (BODY + "\n(Reporting by Tom Perry; Editing by Ed Osmond)", "Reuters"),
        (BODY + "\n\n© 2016 AFP", "AFP"),
        (BODY + "\nCopyright 2017 The Associated Press. All rights reserved.", "AP"),
        ("Rebels said (Reuters) that " + BODY, "Reuters"),
        (BODY + "\nSource: Sputnik", "Sputnik"),
        ("Suicide attack on Syria wedding kills 32 AFP Monday 3 Oct 2016 " + BODY, "AFP"),
    ],
)
def test_credit_lines_are_detected(text, agency):
    assert detect_wire_credit(text) == agency


@pytest.mark.parametrize(("title", "agency"), [("Troops advance on Aleppo - Reuters", "Reuters"),
                                               ("Troops advance on Aleppo | AP News", "AP")])
def test_title_suffix_credit_is_detected(title, agency):
    assert detect_wire_credit(BODY, title) == agency


@pytest.mark.parametrize(
    "text",
    [
        BODY,
        "He told Reuters the convoy had been hit. " + BODY,
        "A photo (AP Photo/Hassan Ammar) showed the damage. " + BODY,
        "President Assad (pictured) - speaking on Tuesday - said talks would continue.",
        "",
    ],
)
def test_no_credit_without_a_credit(text):
    assert detect_wire_credit(text, "Troops advance on Aleppo") is None


def test_staff_dateline_without_agency_is_stripped_without_credit():
    assert strip_dateline("BEIRUT — " + BODY) == BODY
    assert detect_wire_credit("BEIRUT — " + BODY) is None


@pytest.mark.parametrize(
    "text",
    [BODY, "President Assad (pictured) - said talks would continue.", "BEIRUT (AP) — ", ""],
)
def test_text_without_a_dateline_is_unchanged(text):
    assert strip_dateline(text) == text
