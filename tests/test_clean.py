"""Cleaning keeps the article's words and drops captions, credits, screenshot labels and share buttons."""

from transforms.clean import clean_text, count_words, is_residue_line, normalise_unicode


def test_screenshot_line_is_dropped():
    text = "First paragraph of the story.\nScreen Shot 2016-05-24 at 20.39.13\nSecond paragraph."
    assert clean_text(text) == "First paragraph of the story.\n\nSecond paragraph."


def test_photo_credit_caption_is_dropped():
    caption = "Smoke rises over the Old City of Aleppo on Monday. (AP Photo/Hadi Mizban)"
    assert is_residue_line(caption)
    assert clean_text(f"Body text stays.\n{caption}") == "Body text stays."


def test_video_caption_and_share_buttons_are_dropped():
    text = "AP video: rebels shell the western districts\nShare on Facebook\nTweet\nEmail\nThe story goes on."
    assert clean_text(text) == "The story goes on."


def test_sentence_mentioning_ap_is_kept():
    line = "The AP reported that the photo was taken near Idlib, according to witnesses."
    assert not is_residue_line(line)
    assert clean_text(line) == line


def test_whitespace_and_invisible_characters_are_normalised():
    text = "Al\u00a0Nusra   fighters\u200b massed.\n\n\n  Talks\tstalled.  "
    assert clean_text(text) == "Al Nusra fighters massed.\n\nTalks stalled."


def test_repeated_headline_is_removed_from_body():
    assert clean_text("Big News\nThe body.", title="Big  News") == "The body."


def test_unicode_is_nfc():
    assert normalise_unicode("Cafe\u0301") == "Caf\u00e9"


def test_count_words():
    assert count_words("one two\n\nthree") == 3
