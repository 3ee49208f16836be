"""Character tables of 3GPP TS 23.038 used by :mod:`smsbridge.core.encoding`.

Locking shift tables are 128-character strings indexed by septet value; position 0x1B holds
ESC itself (the escape to the single shift table), which is never a character of a text.
Single shift tables map the septet that follows ESC to its character.

Sources: TS 23.038 §6.2.1 (default alphabet), §6.2.1.1 (default extension table), annex A.3
(locking shift tables) and A.2 (single shift tables), cross-checked against Android's
``GsmAlphabet.java`` (``sLanguageTables`` / ``sLanguageShiftTables``). Greek capitals are
written as escapes because several have Latin or symbol look-alikes (U+0394 vs U+2206,
U+03A9 vs U+2126) that are *not* in the alphabet.
"""

from collections.abc import Mapping
from typing import Final

ESC: Final = 0x1B

# National language identifiers (TS 23.038 §6.2.1.2.4).
NLI_DEFAULT: Final = 0
NLI_TURKISH: Final = 1
NLI_SPANISH: Final = 2
NLI_PORTUGUESE: Final = 3

# §6.2.1 GSM 7 bit default alphabet. One row per 16 septets.
DEFAULT_ALPHABET: Final = (
    "@£$¥èéùìòÇ\nØø\rÅå"  # 0x00
    "\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039e\x1bÆæßÉ"  # 0x10
    " !\"#¤%&'()*+,-./"  # 0x20
    "0123456789:;<=>?"  # 0x30
    "¡ABCDEFGHIJKLMNO"  # 0x40
    "PQRSTUVWXYZÄÖÑÜ§"  # 0x50
    "¿abcdefghijklmno"  # 0x60
    "pqrstuvwxyzäöñüà"  # 0x70
)

# A.3.1 Turkish locking shift table: €ıĞğŞşİç replace èìØøÆæ¡¿.
TURKISH_LOCKING: Final = (
    "@£$¥€éùıòÇ\nĞğ\rÅå"  # 0x00
    "\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039e\x1bŞşßÉ"  # 0x10
    " !\"#¤%&'()*+,-./"  # 0x20
    "0123456789:;<=>?"  # 0x30
    "İABCDEFGHIJKLMNO"  # 0x40
    "PQRSTUVWXYZÄÖÑÜ§"  # 0x50
    "çabcdefghijklmno"  # 0x60
    "pqrstuvwxyzäöñüà"  # 0x70
)

# A.3.3 Portuguese locking shift table (A.3.2, Spanish, is void: there is no Spanish one).
PORTUGUESE_LOCKING: Final = (
    "@£$¥êéúíóç\nÔô\rÁá"  # 0x00
    "\u0394_ªÇÀ∞^\\€Ó|\x1bÂâÊÉ"  # 0x10
    " !\"#º%&'()*+,-./"  # 0x20
    "0123456789:;<=>?"  # 0x30
    "ÍABCDEFGHIJKLMNO"  # 0x40
    "PQRSTUVWXYZÃÕÚÜ§"  # 0x50
    "~abcdefghijklmno"  # 0x60
    "pqrstuvwxyzãõ`üà"  # 0x70
)

# §6.2.1.1 default alphabet extension table (0x0D "CR2" and 0x1B "SS2" are control codes
# without a character and are left out).
DEFAULT_EXTENSION: Final[Mapping[int, str]] = {
    0x0A: "\f",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}

# A.2.1 Turkish single shift table.
TURKISH_SINGLE_SHIFT: Final[Mapping[int, str]] = {
    **DEFAULT_EXTENSION,
    0x47: "Ğ",
    0x49: "İ",
    0x53: "Ş",
    0x63: "ç",
    0x67: "ğ",
    0x69: "\u0131",  # dotless i
    0x73: "ş",
}

# A.2.2 Spanish single shift table.
SPANISH_SINGLE_SHIFT: Final[Mapping[int, str]] = {
    **DEFAULT_EXTENSION,
    0x09: "ç",
    0x41: "Á",
    0x49: "Í",
    0x4F: "Ó",
    0x55: "Ú",
    0x61: "á",
    0x69: "í",
    0x6F: "ó",
    0x75: "ú",
}

# A.2.3 Portuguese single shift table.
PORTUGUESE_SINGLE_SHIFT: Final[Mapping[int, str]] = {
    **DEFAULT_EXTENSION,
    0x05: "ê",
    0x09: "ç",
    0x0B: "Ô",
    0x0C: "ô",
    0x0E: "Á",
    0x0F: "á",
    0x12: "\u03a6",  # Φ
    0x13: "\u0393",  # Γ
    0x15: "\u03a9",  # Ω
    0x16: "\u03a0",  # Π
    0x17: "\u03a8",  # Ψ
    0x18: "\u03a3",  # Σ
    0x19: "\u0398",  # Θ
    0x1F: "Ê",
    0x41: "À",
    0x49: "Í",
    0x4F: "Ó",
    0x55: "Ú",
    0x5B: "Ã",
    0x5C: "Õ",
    0x61: "Â",
    0x69: "í",
    0x6F: "ó",
    0x75: "ú",
    0x7B: "ã",
    0x7C: "õ",
    0x7F: "â",
}

LOCKING_TABLES: Final[Mapping[int, str]] = {
    NLI_DEFAULT: DEFAULT_ALPHABET,
    NLI_TURKISH: TURKISH_LOCKING,
    NLI_PORTUGUESE: PORTUGUESE_LOCKING,
}

SINGLE_SHIFT_TABLES: Final[Mapping[int, Mapping[int, str]]] = {
    NLI_DEFAULT: DEFAULT_EXTENSION,
    NLI_TURKISH: TURKISH_SINGLE_SHIFT,
    NLI_SPANISH: SPANISH_SINGLE_SHIFT,
    NLI_PORTUGUESE: PORTUGUESE_SINGLE_SHIFT,
}
