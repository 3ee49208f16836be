"""Exact SMS encoding, counting and splitting (3GPP TS 23.038 alphabets, TS 23.040 UDH).

An SMS carries 140 octets of user data: 160 GSM 7-bit septets or 70 UCS-2 (UTF-16) units.
A concatenated message spends 6 octets of every part on the user data header (UDH), leaving
153 septets / 67 units per part. National language shift tables (Turkish, Spanish,
Portuguese) let more texts stay in 7 bits, but each table in use costs another 3-octet UDH
information element in every part.

Counting is exact rather than ``ceil(units / per_part)``: a part never ends between ESC and
the extension character it introduces, nor between the two halves of a surrogate pair, so a
two-unit character that would straddle a part boundary moves whole into the next part.

Everything here is pure Python and allocation-light because ``count_parts``/``segment`` run for
every message: the common cases (plain GSM text, BMP-only UCS-2 text) are answered with
frozenset/``max`` checks and arithmetic; only texts with two-unit characters that need more
than one part take the slower exact walk.
"""

import re
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise
from typing import Final

from smsbridge.core import gsm_tables as _tables

__all__ = [
    "MAX_PARTS",
    "Encoding",
    "EncodingError",
    "Language",
    "Segmentation",
    "build_udh",
    "concat_ie",
    "concat_udh",
    "count_parts",
    "decode_gsm7",
    "decode_ucs2",
    "encode_gsm7",
    "encode_ucs2",
    "is_gsm7",
    "national_udh",
    "pack_septets",
    "segment",
    "segment_binary",
    "unpack_septets",
]


class Encoding(StrEnum):
    GSM7 = "gsm7"
    UCS2 = "ucs2"
    BINARY = "binary"  # 8-bit data; the message text is its octets in hex


class Language(StrEnum):
    """National language shift tables of TS 23.038 that are supported."""

    TURKISH = "turkish"  # NLI 1: locking + single shift tables
    SPANISH = "spanish"  # NLI 2: single shift table only (A.3.2 is void)
    PORTUGUESE = "portuguese"  # NLI 3: locking + single shift tables

    @property
    def nli(self) -> int:
        """National language identifier, the value carried in the UDH IEs 0x24/0x25."""
        return _NLI[self]


_NLI: Final[dict[Language, int]] = {
    Language.TURKISH: _tables.NLI_TURKISH,
    Language.SPANISH: _tables.NLI_SPANISH,
    Language.PORTUGUESE: _tables.NLI_PORTUGUESE,
}


def parse_languages(value: str | None) -> tuple[Language, ...]:
    """``"turkish,spanish"`` -> (Language.TURKISH, Language.SPANISH); unknown names are ignored."""
    if not value:
        return ()
    known = {language.value for language in Language}
    return tuple(Language(v) for v in (p.strip().lower() for p in value.split(",")) if v in known)


class EncodingError(ValueError):
    """A text that cannot be sent as asked.

    ``code`` is stable: ``text_empty``, ``text_too_long``, ``not_gsm7``, ``invalid_binary`` or
    ``invalid_udh``; ``message`` tells a human how to fix it.
    """

    code: str
    message: str

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)  # both in args so the error pickles
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message


MAX_PARTS: Final = 10

_UD_OCTETS: Final = 140
_CONCAT_IE_OCTETS: Final = 5  # IEI 0x00, length 3, reference, total, sequence
_NATIONAL_IE_OCTETS: Final = 3  # IEI 0x24 or 0x25, length 1, NLI
_UCS2_SINGLE: Final = _UD_OCTETS // 2  # 70
_UCS2_MULTI: Final = (_UD_OCTETS - 1 - _CONCAT_IE_OCTETS) // 2  # 67
_BINARY_MULTI: Final = _UD_OCTETS - 1 - _CONCAT_IE_OCTETS  # 134
_HEX: Final = re.compile(r"(?:[0-9A-Fa-f]{2})+")


def _gsm_capacity(national_ies: int, multipart: bool) -> int:
    """Septets left for text once the UDH (if any) is in the user data.

    The UDH occupies whole octets and the text starts on the next septet boundary
    (TS 23.040 §9.2.3.24), so the header costs ceil(udh_bits / 7) septets.
    """
    udh = (_CONCAT_IE_OCTETS if multipart else 0) + _NATIONAL_IE_OCTETS * national_ies
    if udh:
        udh += 1  # UDHL
    return _UD_OCTETS * 8 // 7 - (udh * 8 + 6) // 7


class _Charset:
    """One pairing of a locking shift table with a single shift table, ready for lookups."""

    __slots__ = (
        "chars",
        "decode_lock",
        "decode_shift",
        "encode_table",
        "locking",
        "multi_cap",
        "narrow",
        "single",
        "single_cap",
        "wide",
        "wide_re",
    )

    def __init__(self, locking: Language | None, single: Language | None) -> None:
        lock = _tables.LOCKING_TABLES[locking.nli if locking else _tables.NLI_DEFAULT]
        shift = _tables.SINGLE_SHIFT_TABLES[single.nli if single else _tables.NLI_DEFAULT]
        # A character in the locking table always wins: one septet instead of ESC + code.
        one = {ch: code for code, ch in enumerate(lock) if code != _tables.ESC}
        two = {ch: code for code, ch in shift.items() if ch not in one}
        self.locking = locking
        self.single = single
        self.narrow: frozenset[str] = frozenset(one)
        self.wide: tuple[str, ...] = tuple(two)
        self.chars: frozenset[str] = self.narrow | frozenset(two)
        self.wide_re = re.compile("[" + "".join(map(re.escape, two)) + "]")
        # str.translate tables: text -> septets (as latin-1 chars), and septets -> text.
        self.encode_table: dict[int, str] = {ord(ch): chr(code) for ch, code in one.items()}
        self.encode_table.update({ord(ch): f"\x1b{code:c}" for ch, code in two.items()})
        self.decode_lock: dict[int, str] = {code: ch for code, ch in enumerate(lock)}
        self.decode_shift: dict[int, str] = dict(shift)
        ies = (locking is not None) + (single is not None)
        self.single_cap = _gsm_capacity(ies, multipart=False)
        self.multi_cap = _gsm_capacity(ies, multipart=True)

    def wide_count(self, text: str) -> int:
        return sum(map(text.count, self.wide))

    def wide_positions(self, text: str) -> list[int]:
        return [m.start() for m in self.wide_re.finditer(text)]


_CHARSETS: Final[dict[tuple[Language | None, Language | None], _Charset]] = {
    (lock, single): _Charset(lock, single)
    for lock in (None, Language.TURKISH, Language.PORTUGUESE)
    for single in (None, *Language)
}
_DEFAULT: Final = _CHARSETS[None, None]

# Pairings tried for a language, in order of preference when they tie on parts and septets:
# single shift only (most widely supported, one IE), locking shift with the default extension
# table (one IE; for Turkish it dominates Turkish+Turkish, whose extra letters are all in the
# Turkish locking table already), and both tables (two IEs).
_CANDIDATES: Final[dict[Language, tuple[_Charset, ...]]] = {
    Language.TURKISH: (
        _CHARSETS[None, Language.TURKISH],
        _CHARSETS[Language.TURKISH, None],
        _CHARSETS[Language.TURKISH, Language.TURKISH],
    ),
    Language.SPANISH: (_CHARSETS[None, Language.SPANISH],),
    Language.PORTUGUESE: (
        _CHARSETS[None, Language.PORTUGUESE],
        _CHARSETS[Language.PORTUGUESE, None],
        _CHARSETS[Language.PORTUGUESE, Language.PORTUGUESE],
    ),
}

# Hot-path constants (attribute lookups on enums and instances are comparatively slow).
_GSM7: Final = Encoding.GSM7
_UCS2: Final = Encoding.UCS2
_is_basic = _DEFAULT.narrow.issuperset  # every character is one default-alphabet septet
_GSM_SINGLE: Final = _DEFAULT.single_cap  # 160
_GSM_MULTI: Final = _DEFAULT.multi_cap  # 153
_ASTRAL_RE: Final = re.compile("[\U00010000-\U0010ffff]")  # two UTF-16 units each

_AUTO, _FORCE_GSM7, _FORCE_UCS2 = 0, 1, 2
_MODES: Final = {"auto": _AUTO, "gsm7": _FORCE_GSM7, "ucs2": _FORCE_UCS2}
_GSM_MODES: Final = ("auto", "gsm7")


@dataclass(frozen=True, slots=True)
class Segmentation:
    """How a text is sent: its encoding, size and the text of each part."""

    encoding: Encoding
    units: int  # septets (gsm7; escaped characters count 2) or UTF-16 code units (ucs2)
    parts: tuple[str, ...]  # "".join(parts) == text
    locking_shift: Language | None = None  # national locking shift table (gsm7 only)
    single_shift: Language | None = None  # national single shift table (gsm7 only)

    @property
    def part_count(self) -> int:
        return len(self.parts)


def _ends(n: int, wide: list[int], cap: int) -> list[int]:
    """Exclusive end index of each part of an ``n``-character text split at ``cap`` units.

    ``wide`` holds the sorted positions of the two-unit characters, which are never split.
    Parts are filled greedily. Each guess ``e`` that overshoots by ``over`` units is at least
    ``ceil(over / 2)`` characters too far (no character is wider than 2), so stepping back
    that much never passes the best end and the search takes a few bisections per part.
    """
    if not wide:
        return [*range(cap, n, cap), n]
    ends: list[int] = []
    start = lo = 0  # lo: index in wide of the first two-unit character at or after start
    while start < n:
        end = min(start + cap, n)
        hi = bisect_left(wide, end, lo)
        over = end - start + hi - lo - cap
        while over > 0:
            end -= (over + 1) >> 1
            hi = bisect_left(wide, end, lo, hi)
            over = end - start + hi - lo - cap
        ends.append(end)
        start, lo = end, hi
    return ends


def _ucs2_ends(data: bytes, units: int) -> list[int]:
    """Exclusive end (in UTF-16 units) of each part of UTF-16-BE ``data`` split at 67 units.

    A part that would end on a high surrogate (first octet 0xD8-0xDB) stops one unit early so
    the pair moves whole into the next part.
    """
    ends: list[int] = []
    start = 0
    while start < units:
        end = start + _UCS2_MULTI
        if end >= units:
            end = units
        elif 0xD8 <= data[2 * end - 2] <= 0xDB:
            end -= 1
        ends.append(end)
        start = end
    return ends


def _astral_positions(text: str) -> list[int]:
    return [m.start() for m in _ASTRAL_RE.finditer(text)]


def _part_count(text: str, units: int, charset: _Charset | None, data: bytes | None) -> int:
    """Parts needed; ``data`` is the UTF-16-BE text for UCS-2 (None if it has lone surrogates)."""
    n = len(text)
    if charset is None:
        if units <= _UCS2_SINGLE:
            return 1
        if units == n:  # no two-unit characters: plain arithmetic
            return -(-n // _UCS2_MULTI)
        if data is not None:
            return len(_ucs2_ends(data, units))
        return len(_ends(n, _astral_positions(text), _UCS2_MULTI))
    if units <= charset.single_cap:
        return 1
    if units == n:
        return -(-n // charset.multi_cap)
    return len(_ends(n, charset.wide_positions(text), charset.multi_cap))


def _pick_charset(text: str, languages: Sequence[Language]) -> _Charset | None:
    """The default alphabet if it covers the text, else the best national pairing, else None.

    The default alphabet wins whenever it can encode the text: it needs no UDH and every
    handset understands it. Among national pairings the fewest parts win, then the fewest
    septets, then the order of ``_CANDIDATES`` (single shift only first), then the order of
    ``languages``.
    """
    if _DEFAULT.chars.issuperset(text):
        return _DEFAULT
    if not languages:
        return None
    best: _Charset | None = None
    best_key = (0, 0, 0)
    n = len(text)
    for language in dict.fromkeys(map(Language, languages)):
        for preference, charset in enumerate(_CANDIDATES[language]):
            if not charset.chars.issuperset(text):
                continue
            units = n + charset.wide_count(text)
            key = (_part_count(text, units, charset, None), units, preference)
            if best is None or key < best_key:
                best, best_key = charset, key
    return best


def _not_gsm7(text: str, allowed: frozenset[str] | set[str], where: str) -> EncodingError:
    bad = [ch for ch in dict.fromkeys(text) if ch not in allowed]
    if not bad:
        return EncodingError(
            "not_gsm7",
            f"Every character is in {where}, but no one language's tables cover them all; "
            "use encoding 'auto' or 'ucs2', or send one language per message.",
        )
    shown = ", ".join(f"{ch!r} (U+{ord(ch):04X})" for ch in bad[:5])
    more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
    return EncodingError(
        "not_gsm7",
        f"Characters not in {where}: {shown}{more}. Remove or replace them, "
        "or use encoding 'auto' or 'ucs2'.",
    )


def _not_gsm7_for(text: str, languages: Sequence[Language]) -> EncodingError:
    names = sorted({Language(lang).value for lang in languages})
    allowed = set(_DEFAULT.chars)
    for name in names:
        for candidate in _CANDIDATES[Language(name)]:
            allowed |= candidate.chars
    where = "the GSM 03.38 alphabet"
    if names:
        where += " or the " + "/".join(names) + " national language tables"
    return _not_gsm7(text, allowed, where)


def _analyse(
    text: str, encoding: str, languages: Sequence[Language]
) -> tuple[Encoding, _Charset | None, int, bytes | None]:
    """Encoding, GSM charset (None for UCS-2), size in units and, for UCS-2, the UTF-16-BE
    text (None when the text holds surrogate code points, which strict UTF-16 refuses)."""
    mode = _MODES.get(encoding)
    if mode is None:
        raise ValueError(f"encoding must be 'auto', 'gsm7', 'ucs2' or 'binary', not {encoding!r}")
    if not text:
        raise EncodingError("text_empty", "The message text is empty; send at least 1 character.")
    if mode != _FORCE_UCS2:
        charset = _pick_charset(text, languages)
        if charset is not None:
            return _GSM7, charset, len(text) + charset.wide_count(text), None
        if mode == _FORCE_GSM7:
            raise _not_gsm7_for(text, languages)
    try:
        data = text.encode("utf-16-be")
    except UnicodeEncodeError:  # lone surrogates: each is one unit
        return _UCS2, None, len(text.encode("utf-16-be", "surrogatepass")) >> 1, None
    return _UCS2, None, len(data) >> 1, data


def count_parts(
    text: str,
    encoding: str = "auto",
    *,
    languages: Sequence[Language] = (),
    udh: str | None = None,
) -> tuple[Encoding, int, int]:
    """``(encoding, units, part_count)`` of a text, without building the parts.

    Same rules and errors as :func:`segment` except that there is no ``max_parts`` check.
    """
    if encoding == "binary":
        seg = segment_binary(text, udh, max_parts=255)
        return seg.encoding, seg.units, seg.part_count
    if encoding in _GSM_MODES and _is_basic(text):
        n = len(text)
        if n > _GSM_SINGLE:
            return _GSM7, n, -(-n // _GSM_MULTI)
        if n:
            return _GSM7, n, 1
    enc, charset, units, data = _analyse(text, encoding, languages)
    return enc, units, _part_count(text, units, charset, data)


def default_alphabet_parts(text: str, max_parts: int = MAX_PARTS) -> int | None:
    """The part count of a non-empty text written only in the GSM default alphabet (no
    escapes) that fits ``max_parts``, as :func:`segment` would split it; None for any other
    text (then ask :func:`segment`). Bulk paths need the count, not the parts."""
    if not _is_basic(text) or not text:
        return None
    n = len(text)
    if n <= _GSM_SINGLE:
        return 1
    parts = -(-n // _GSM_MULTI)
    return parts if parts <= max_parts else None


def segment(
    text: str,
    encoding: str = "auto",
    *,
    languages: Sequence[Language] = (),
    max_parts: int = MAX_PARTS,
    udh: str | None = None,
) -> Segmentation:
    """Choose the encoding of ``text`` and split it into SMS parts.

    ``encoding`` is "auto" (GSM 7-bit when possible, else UCS-2), "gsm7" (error if the text
    needs UCS-2), "ucs2" or "binary" (see :func:`segment_binary`; ``udh`` is the sender's own
    header). ``languages`` allows national shift tables for texts the default GSM alphabet
    cannot encode. Raises :class:`EncodingError` (``text_empty``, ``not_gsm7``,
    ``text_too_long`` when more than ``max_parts`` parts are needed) and ``ValueError`` for a
    bad ``encoding`` or ``max_parts``.
    """
    if not 1 <= max_parts <= 255:  # the concatenation IE counts parts in one octet
        raise ValueError(f"max_parts must be between 1 and 255, not {max_parts}")
    if encoding == "binary":
        return segment_binary(text, udh, max_parts=max_parts)
    if encoding in _GSM_MODES and _is_basic(text) and text:
        n = len(text)
        if n <= _GSM_SINGLE:
            return Segmentation(_GSM7, n, (text,))
        if -(-n // _GSM_MULTI) <= max_parts:
            return Segmentation(
                _GSM7, n, tuple(text[i : i + _GSM_MULTI] for i in range(0, n, _GSM_MULTI))
            )
    enc, charset, units, data = _analyse(text, encoding, languages)
    n = len(text)
    if charset is None:
        single, multi = _UCS2_SINGLE, _UCS2_MULTI
    else:
        single, multi = charset.single_cap, charset.multi_cap
    if units <= single:
        parts: tuple[str, ...] = (text,)
    elif data is not None and units != n:  # UCS-2 with surrogate pairs: cut the UTF-16 text
        ends = _ucs2_ends(data, units)
        if len(ends) > max_parts:
            raise _too_long(enc, units, len(ends), max_parts, single, multi)
        parts = tuple(data[2 * a : 2 * b].decode("utf-16-be") for a, b in pairwise([0, *ends]))
    else:
        if units == n:
            ends = _ends(n, [], multi)
        elif charset is None:
            ends = _ends(n, _astral_positions(text), multi)
        else:
            ends = _ends(n, charset.wide_positions(text), multi)
        if len(ends) > max_parts:
            raise _too_long(enc, units, len(ends), max_parts, single, multi)
        parts = tuple(text[a:b] for a, b in pairwise([0, *ends]))
    if charset is None:
        return Segmentation(enc, units, parts)
    return Segmentation(enc, units, parts, charset.locking, charset.single)


def segment_binary(
    data: str, udh: str | None = None, *, max_parts: int = MAX_PARTS
) -> Segmentation:
    """A binary (8-bit) SMS whose octets are given as hex.

    With a user data header of the sender's own (``udh``, hex, starting with its length
    octet: an application port, its own concatenation) the message is one SMS of at most 140
    octets, header included, and is sent as given. Without one, data beyond 140 octets is
    split into parts of 134 octets that carry a concatenation header.
    """
    if not data:
        raise EncodingError("text_empty", "A binary SMS needs data: give its octets in hex.")
    if not _HEX.fullmatch(data):
        raise EncodingError(
            "invalid_binary",
            "A binary SMS's text is its octets in hex: pairs of 0-9 and A-F such as 0A1B2C.",
        )
    octets = len(data) >> 1
    if udh:
        header = _parse_udh(udh)
        room = _UD_OCTETS - len(header)
        if octets > room:
            raise EncodingError(
                "text_too_long",
                f"A binary SMS with its own header is one SMS of 140 octets: the header takes "
                f"{len(header)}, so the data may have {room} octets, not {octets}. Shorten it "
                "or leave the header out to have it split into concatenated parts.",
            )
        return Segmentation(Encoding.BINARY, octets, (data,))
    if octets <= _UD_OCTETS:
        return Segmentation(Encoding.BINARY, octets, (data,))
    step = 2 * _BINARY_MULTI
    parts = tuple(data[i : i + step] for i in range(0, len(data), step))
    if len(parts) > max_parts:
        raise EncodingError(
            "text_too_long",
            f"The data needs {len(parts)} SMS parts but at most {max_parts} are allowed: a "
            f"binary part holds {_BINARY_MULTI} octets when split (140 for a single SMS); the "
            f"data is {octets} octets.",
        )
    return Segmentation(Encoding.BINARY, octets, parts)


def _parse_udh(udh: str) -> bytes:
    if not _HEX.fullmatch(udh):
        raise EncodingError(
            "invalid_udh", "The user data header is hex octets such as 050003CC0201."
        )
    header = bytes.fromhex(udh)
    if len(header) < 3:
        raise EncodingError(
            "invalid_udh",
            "A user data header holds its length octet and at least one element (identifier, "
            "length, data), e.g. 050003CC0201.",
        )
    if header[0] != len(header) - 1:
        raise EncodingError(
            "invalid_udh",
            f"The user data header starts with its length: {udh[:2]} announces {header[0]} "
            f"octets but {len(header) - 1} follow (e.g. 050003CC0201: length 5, then a "
            "concatenation element).",
        )
    return header


def _too_long(
    enc: Encoding, units: int, needed: int, max_parts: int, single: int, multi: int
) -> EncodingError:
    if enc is _GSM7:
        unit = "septets (characters; those reached through the escape count 2)"
    else:
        unit = "UTF-16 units (characters; emoji and others outside the BMP count 2)"
    limit = single if max_parts == 1 else multi * max_parts
    return EncodingError(
        "text_too_long",
        f"The text needs {needed} SMS parts but at most {max_parts} are allowed. "
        f"In {enc.value.upper()} a part holds {multi} {unit} when the message is split "
        f"({single} for a single SMS); the text is {units}, so shorten it by at least "
        f"{units - limit}.",
    )


def is_gsm7(text: str) -> bool:
    """True if the GSM 03.38 default alphabet plus its extension table cover ``text``."""
    return _DEFAULT.chars.issuperset(text)


def _charset_for(locking_shift: Language | None, single_shift: Language | None) -> _Charset:
    lock = None if locking_shift is None else Language(locking_shift)
    single = None if single_shift is None else Language(single_shift)
    charset = _CHARSETS.get((lock, single))
    if charset is None:
        raise ValueError(f"there is no {lock} locking shift table")
    return charset


def encode_gsm7(
    text: str, *, locking_shift: Language | None = None, single_shift: Language | None = None
) -> bytes:
    """Unpacked septets, one per byte; escaped characters become 0x1B + code."""
    charset = _charset_for(locking_shift, single_shift)
    if not charset.chars.issuperset(text):
        where = "the GSM 03.38 alphabet"
        if charset.locking or charset.single:
            where += (
                f" with the {charset.locking or 'default'} locking shift and"
                f" {charset.single or 'default'} single shift tables"
            )
        raise _not_gsm7(text, charset.chars, where)
    return text.translate(charset.encode_table).encode("latin-1")


def decode_gsm7(
    data: bytes, *, locking_shift: Language | None = None, single_shift: Language | None = None
) -> str:
    """Text of unpacked septets (one per byte), the inverse of :func:`encode_gsm7`.

    Lenient like a handset (TS 23.038 §6.2.1.1): ESC before a code missing from the single
    shift table yields the locking-table character, and ESC ESC or a trailing ESC a space.
    """
    charset = _charset_for(locking_shift, single_shift)
    if data and max(data) > 0x7F:
        raise ValueError("septets must be below 0x80; unpack packed data first")
    if _tables.ESC not in data:
        return data.decode("latin-1").translate(charset.decode_lock)
    lock, shift = charset.decode_lock, charset.decode_shift
    out: list[str] = []
    escaped = False
    for code in data:
        if escaped:
            escaped = False
            out.append(" " if code == _tables.ESC else shift.get(code) or lock[code])
        elif code == _tables.ESC:
            escaped = True
        else:
            out.append(lock[code])
    if escaped:
        out.append(" ")
    return "".join(out)


def pack_septets(septets: bytes, fill_bits: int = 0) -> bytes:
    """Pack septets 8-into-7 octets, least significant bit first (TS 23.038 §6.1.2.1.1).

    ``fill_bits`` (0-6) zero bits go first so that the text starts on a septet boundary
    after a UDH.
    """
    if not 0 <= fill_bits <= 6:
        raise ValueError("fill_bits must be between 0 and 6")
    out = bytearray()
    acc = 0
    bits = fill_bits
    for septet in septets:
        if septet > 0x7F:
            raise ValueError(f"septet value {septet:#x} is above 0x7F")
        acc |= septet << bits
        bits += 7
        if bits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            bits -= 8
    if septets and bits:
        out.append(acc)
    return bytes(out)


def unpack_septets(data: bytes, count: int, fill_bits: int = 0) -> bytes:
    """The first ``count`` septets of packed ``data`` (after ``fill_bits`` padding bits)."""
    if not 0 <= fill_bits <= 6:
        raise ValueError("fill_bits must be between 0 and 6")
    if count < 0 or (count and fill_bits + 7 * count > 8 * len(data)):
        raise ValueError(f"{len(data)} octets do not hold {count} septets")
    value = int.from_bytes(data, "little") >> fill_bits
    return bytes((value >> (7 * i)) & 0x7F for i in range(count))


def encode_ucs2(text: str) -> bytes:
    """UTF-16-BE; characters outside the BMP become surrogate pairs, as handsets expect."""
    return text.encode("utf-16-be", "surrogatepass")


def decode_ucs2(data: bytes) -> str:
    if len(data) % 2:
        raise ValueError("UCS-2 data must have an even number of octets")
    return data.decode("utf-16-be", "surrogatepass")


def concat_ie(reference: int, total: int, seq: int) -> bytes:
    """Concatenation IE with an 8-bit reference (IEI 0x00), without UDHL."""
    if not 1 <= total <= 255 or not 1 <= seq <= total:
        raise ValueError(f"need 1 <= seq <= total <= 255, got seq={seq}, total={total}")
    return bytes((0x00, 3, reference & 0xFF, total, seq))


def concat_udh(reference: int, total: int, seq: int) -> bytes:
    """Complete 6-octet UDH ``05 00 03 ref total seq``; ``reference`` is taken modulo 256."""
    return build_udh(concat_ie(reference, total, seq))


def national_udh(locking_shift: Language | None, single_shift: Language | None) -> bytes:
    """National language IEs (no UDHL): single shift 0x24 then locking shift 0x25, each
    ``IEI 01 NLI``. Empty when neither table is used."""
    out = b""
    if single_shift is not None:
        out += bytes((0x24, 1, Language(single_shift).nli))
    if locking_shift is not None:
        language = Language(locking_shift)
        if language.nli not in _tables.LOCKING_TABLES:
            raise ValueError(f"there is no {language} locking shift table")
        out += bytes((0x25, 1, language.nli))
    return out


def build_udh(*ies: bytes) -> bytes:
    """UDHL followed by the information elements; empty when there are none."""
    body = b"".join(ies)
    if len(body) >= _UD_OCTETS:
        raise ValueError(f"a UDH of {len(body)} octets leaves no room for text")
    return bytes((len(body),)) + body if body else b""
