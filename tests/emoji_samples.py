"""Emoji sequences and misplaced emoji joiners, selectors and tags, shared by the
unit, integration and e2e tests of names and descriptions."""

# Emoji sequences names and descriptions accept, each as its code points (an editor may normalise
# the glyphs), and the same invisible characters where they join nothing, which both refuse.
ZWJ = "\u200d"
TAGS = "".join(chr(0xE0000 + ord(letter)) for letter in "gbsct") + "\U000e007f"
EMOJI = [
    "\U0001f469\u200d\U0001f4bb",  # woman technologist (ZWJ)
    "\U0001f468\u200d\U0001f469\u200d\U0001f467",  # family
    "\U0001f469\U0001f3fd\u200d\U0001f4bb",  # with a skin tone before the joiner
    "\U0001f3f3\ufe0f\u200d\U0001f308",  # rainbow flag: VS16 before the joiner
    "\u2764\ufe0f\u200d\U0001f525",  # heart on fire
    "\U0001f9d1\U0001f3fd\u200d\U0001f91d\u200d\U0001f9d1\U0001f3fb",  # people holding hands
    "\U0001f3f4\u200d\u2620\ufe0f",  # pirate flag
    "\u2764\ufe0f",  # VS16
    "\u2764\ufe0e",  # VS15
    "\U0001f44d\U0001f3fd",  # skin tone
    "1\ufe0f\u20e3",  # keycaps
    "#\ufe0f\u20e3",
    "\U0001f1eb\U0001f1f7",  # flag of France (regional indicators)
    "\U0001f3f4" + TAGS,  # flag of Scotland (tag sequence)
    "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f",  # England
    "\U0001f3f4\U000e0067\U000e0062\U000e0077\U000e006c\U000e0073\U000e007f",  # Wales
]
# A name holds 100 characters at most: half the sequences each.
NAME = " ".join(EMOJI[:8])
OTHER_NAME = " ".join(EMOJI[8:])
DESCRIPTION = "\n".join(EMOJI)

MISPLACED = [
    "ad\u200dmin",  # ZWJ between letters
    "\u200d\U0001f4bb",  # ZWJ first
    "\U0001f469\u200d",  # ZWJ last
    "\U0001f469\u200d\u200d\U0001f4bb",  # two joiners
    "\U0001f469 \u200d\U0001f4bb",  # after a space
    "a\u200d\U0001f4bb",  # after a letter
    "\U0001f469\u200da",  # before a letter
    "\U0001f469\ufe0f\ufe0f\u200d\U0001f4bb",  # two selectors before the joiner
    "ad\ufe0fmin",  # VS16 after a letter
    "ad\ufe0emin",  # VS15 after a letter
    "\ufe0f",  # alone
    "\u2764\ufe0f\ufe0f",  # twice
    " \ufe0f",
    "1\u20e3\ufe0f",  # keycap before the selector
    "\U0001f3f4\U000e0067\U000e0062\U000e0078\U000e0078\U000e0078\U000e007f",  # not a recommended flag
    "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074",  # no cancel tag
    "\U0001f3f4" + TAGS + "\U000e007f",  # one cancel tag too many
    "a" + TAGS,  # tags after a letter
    "\U0001f3f4" + "".join(chr(0xE0000 + ord(letter)) for letter in "ignore all previous") + "\U000e007f",
]
