"""Tests for smsbridge.core.encoding: boundaries, national tables, codecs and a cross-check
against the independent ``smsutil`` implementation."""

import pickle

import pytest
import smsutil
from hypothesis import given, settings
from hypothesis import strategies as st

from smsbridge.core import gsm_tables
from smsbridge.core.encoding import (
    MAX_PARTS,
    Encoding,
    EncodingError,
    Language,
    Segmentation,
    build_udh,
    concat_ie,
    concat_udh,
    count_parts,
    decode_gsm7,
    decode_ucs2,
    default_alphabet_parts,
    encode_gsm7,
    encode_ucs2,
    is_gsm7,
    national_udh,
    pack_septets,
    segment,
    unpack_septets,
)

GSM7, UCS2 = Encoding.GSM7, Encoding.UCS2
TR, ES, PT = Language.TURKISH, Language.SPANISH, Language.PORTUGUESE
EMOJI = "\U0001f600"  # 😀, two UTF-16 units
EXT = "\f^{}\\[~]|€"  # default extension table: two septets each
GSM_BASIC = gsm_tables.DEFAULT_ALPHABET.replace("\x1b", "")

# ---------------------------------------------------------------------------------------------
# helpers


def part_units(seg: Segmentation, part: str) -> int:
    if seg.encoding is GSM7:
        return len(
            encode_gsm7(part, locking_shift=seg.locking_shift, single_shift=seg.single_shift)
        )
    return len(encode_ucs2(part)) // 2


def check_invariants(seg: Segmentation, text: str) -> None:
    """Properties every segmentation must have, whatever the text."""
    assert "".join(seg.parts) == text
    assert all(seg.parts)
    sizes = [part_units(seg, p) for p in seg.parts]
    assert sum(sizes) == seg.units
    ies = (seg.locking_shift is not None) + (seg.single_shift is not None)
    if seg.encoding is GSM7:
        single, multi = {0: (160, 153), 1: (155, 149), 2: (152, 146)}[ies]
    else:
        assert ies == 0
        single, multi = 70, 67
    if len(seg.parts) == 1:
        assert seg.units <= single
    else:
        assert seg.units > single
        assert all(size <= multi for size in sizes)
        # greedy: the first character of the next part did not fit in the previous one
        for part, size, nxt in zip(seg.parts, sizes, seg.parts[1:], strict=False):
            assert size + part_units(seg, nxt[0]) > multi, part
    for part in seg.parts:
        if seg.encoding is GSM7:
            septets = encode_gsm7(
                part, locking_shift=seg.locking_shift, single_shift=seg.single_shift
            )
            assert septets[-1] != gsm_tables.ESC  # never ends on a bare ESC
        else:
            data = encode_ucs2(part)
            assert not 0xDC <= data[0] <= 0xDF  # never starts with a low surrogate
            assert not 0xD8 <= data[-2] <= 0xDB  # never ends with a high surrogate
    if not ies:
        assert count_parts(text, seg.encoding) == (seg.encoding, seg.units, seg.part_count)


# ---------------------------------------------------------------------------------------------
# boundary vectors: (text, encoding argument, expected encoding, expected units per part)

VECTORS = [
    # plain GSM septets
    pytest.param("a", "auto", GSM7, [1], id="gsm-1"),
    pytest.param("a" * 159, "auto", GSM7, [159], id="gsm-159"),
    pytest.param("a" * 160, "auto", GSM7, [160], id="gsm-160"),
    pytest.param("a" * 161, "auto", GSM7, [153, 8], id="gsm-161"),
    pytest.param("a" * 305, "auto", GSM7, [153, 152], id="gsm-305"),
    pytest.param("a" * 306, "auto", GSM7, [153, 153], id="gsm-306"),
    pytest.param("a" * 307, "auto", GSM7, [153, 153, 1], id="gsm-307"),
    pytest.param("a" * 1530, "auto", GSM7, [153] * 10, id="gsm-1530"),
    # extension characters around the boundaries
    pytest.param("a" * 152 + "€", "auto", GSM7, [154], id="152+euro"),
    pytest.param("a" * 152 + "€" + "a" * 10, "auto", GSM7, [152, 12], id="152+euro+10"),
    pytest.param("a" * 153 + "€", "auto", GSM7, [155], id="153+euro"),
    pytest.param("a" * 153 + "€" + "a" * 10, "auto", GSM7, [153, 12], id="153+euro+10"),
    pytest.param("a" * 158 + "€", "auto", GSM7, [160], id="158+euro=160"),
    pytest.param("a" * 159 + "€", "auto", GSM7, [153, 8], id="159+euro"),
    pytest.param("€" * 80, "auto", GSM7, [160], id="euro*80"),
    pytest.param("€" * 81, "auto", GSM7, [152, 10], id="euro*81"),
    pytest.param("€" * 76 + "a" * 9, "auto", GSM7, [153, 8], id="euro*76+9"),
    pytest.param("€" * 77 + "a" * 7, "auto", GSM7, [152, 9], id="euro*77+7"),
    pytest.param("a" * 152 + "[" + "a" * 8, "auto", GSM7, [152, 10], id="152+bracket"),
    pytest.param(16 * "[]{}~\\^|€" + "ab", "auto", GSM7, [152, 138], id="ext-run"),
    pytest.param("a" * 1528 + "€", "auto", GSM7, [153] * 9 + [153], id="1528+euro=10parts"),
    pytest.param("\f", "auto", GSM7, [2], id="form-feed"),
    # characters people get wrong
    pytest.param("§¿", "auto", GSM7, [2], id="section-inverted-question"),
    pytest.param("Ç", "auto", GSM7, [1], id="C-cedilla-upper"),
    pytest.param("ç", "auto", UCS2, [1], id="c-cedilla-lower"),
    pytest.param("`", "auto", UCS2, [1], id="backtick"),
    pytest.param("line1\r\nline2", "auto", GSM7, [12], id="cr-lf"),
    pytest.param("\u03a9\u0394", "auto", GSM7, [2], id="greek-omega-delta"),
    pytest.param("\u2126", "auto", UCS2, [1], id="ohm-sign-lookalike"),
    pytest.param("\x1b", "auto", UCS2, [1], id="bare-escape"),
    # UCS-2
    pytest.param("ж", "auto", UCS2, [1], id="ucs2-1"),
    pytest.param("ж" * 69, "auto", UCS2, [69], id="ucs2-69"),
    pytest.param("ж" * 70, "auto", UCS2, [70], id="ucs2-70"),
    pytest.param("ж" * 71, "auto", UCS2, [67, 4], id="ucs2-71"),
    pytest.param("ж" * 134, "auto", UCS2, [67, 67], id="ucs2-134"),
    pytest.param("ж" * 135, "auto", UCS2, [67, 67, 1], id="ucs2-135"),
    pytest.param("ж" * 670, "auto", UCS2, [67] * 10, id="ucs2-670"),
    pytest.param("a" * 100 + "ж", "auto", UCS2, [67, 34], id="one-cyrillic-makes-ucs2"),
    # surrogate pairs
    pytest.param(EMOJI * 35, "auto", UCS2, [70], id="emoji*35"),
    pytest.param(EMOJI * 36, "auto", UCS2, [66, 6], id="emoji*36"),
    pytest.param("ж" * 66 + EMOJI + "ж" * 10, "auto", UCS2, [66, 12], id="emoji-at-66"),
    pytest.param("ж" * 65 + EMOJI + "ж" * 10, "auto", UCS2, [67, 10], id="emoji-at-65"),
    pytest.param("ж" * 68 + EMOJI, "auto", UCS2, [70], id="68+emoji=70"),
    pytest.param("ж" * 69 + EMOJI, "auto", UCS2, [67, 4], id="69+emoji"),
    pytest.param("ж" * 133 + EMOJI, "auto", UCS2, [67, 66, 2], id="emoji-at-133"),
    pytest.param("Hello " + EMOJI, "auto", UCS2, [8], id="gsm+emoji"),
    pytest.param("a" * 66 + EMOJI + "€" * 3, "auto", UCS2, [66, 5], id="gsm+emoji-split"),
    # forced encodings
    pytest.param("hello", "ucs2", UCS2, [5], id="forced-ucs2-ascii"),
    pytest.param("a" * 71, "ucs2", UCS2, [67, 4], id="forced-ucs2-71"),
    pytest.param("hello€", "gsm7", GSM7, [7], id="forced-gsm7"),
    pytest.param("hello", Encoding.GSM7, GSM7, [5], id="enum-gsm7"),
    pytest.param("hello", Encoding.UCS2, UCS2, [5], id="enum-ucs2"),
]


@pytest.mark.parametrize(("text", "encoding", "expected", "sizes"), VECTORS)
def test_vectors(text: str, encoding: str, expected: Encoding, sizes: list[int]) -> None:
    seg = segment(text, encoding)
    assert seg.encoding is expected
    assert seg.units == sum(sizes)
    assert seg.part_count == len(sizes)
    assert [part_units(seg, p) for p in seg.parts] == sizes
    assert seg.locking_shift is None and seg.single_shift is None
    check_invariants(seg, text)
    assert count_parts(text, encoding) == (expected, sum(sizes), len(sizes))


def test_exactly_max_parts_is_allowed_and_one_more_is_not() -> None:
    assert segment("a" * 1530).part_count == MAX_PARTS
    with pytest.raises(EncodingError) as err:
        segment("a" * 1531)
    assert err.value.code == "text_too_long"
    assert "11" in err.value.message and "10" in err.value.message
    assert "153" in err.value.message
    assert count_parts("a" * 1531) == (GSM7, 1531, 11)  # no max_parts check


def test_escape_straddling_the_last_part_needs_an_eleventh() -> None:
    text = "a" * 1529 + "€"  # 1531 septets: the euro cannot share part 10
    assert count_parts(text) == (GSM7, 1531, 11)
    with pytest.raises(EncodingError, match="11"):
        segment(text)


def test_ucs2_too_long() -> None:
    assert count_parts("ж" * 671) == (UCS2, 671, 11)
    with pytest.raises(EncodingError) as err:
        segment("ж" * 671)
    assert err.value.code == "text_too_long"
    assert "67" in err.value.message


def test_max_parts_argument() -> None:
    assert segment("a" * 160, max_parts=1).part_count == 1
    with pytest.raises(EncodingError, match="text needs 2") as err:
        segment("a" * 161, max_parts=1)
    assert err.value.code == "text_too_long"
    assert segment("a" * 1531, max_parts=11).part_count == 11
    with pytest.raises(ValueError, match="max_parts"):
        segment("a", max_parts=0)


def test_empty_text() -> None:
    for call in (segment, count_parts):
        with pytest.raises(EncodingError) as err:
            call("")
        assert err.value.code == "text_empty"
    with pytest.raises(EncodingError, match="empty"):
        segment("", "ucs2")


def test_forced_gsm7_refuses_ucs2_text() -> None:
    with pytest.raises(EncodingError) as err:
        segment("Hi ж, ж and ж!", "gsm7")
    assert err.value.code == "not_gsm7"
    assert isinstance(err.value, ValueError)
    message = err.value.message
    assert "'ж' (U+0436)" in message
    assert message.count("'ж'") == 1  # deduplicated
    assert "ucs2" in message
    assert str(err.value) == message
    with pytest.raises(EncodingError, match=r"GSM 03\.38"):
        count_parts("ж", "gsm7")


def test_not_gsm7_lists_only_first_few() -> None:
    with pytest.raises(EncodingError) as err:
        segment("абвгдежз", "gsm7")
    assert "'а'" in err.value.message and "'з'" not in err.value.message
    assert "3 more" in err.value.message


def test_bad_encoding_argument() -> None:
    with pytest.raises(ValueError, match="encoding"):
        segment("hi", "utf8")
    with pytest.raises(ValueError, match="encoding"):
        count_parts("hi", "GSM")


def test_error_pickles() -> None:
    err = pickle.loads(pickle.dumps(EncodingError("text_empty", "nothing to send")))
    assert (err.code, err.message, str(err)) == ("text_empty", "nothing to send", "nothing to send")


def test_is_gsm7() -> None:
    assert is_gsm7(GSM_BASIC + EXT)
    assert is_gsm7("")
    for ch in "ç`ж\x1b" + EMOJI:
        assert not is_gsm7(ch)


def test_segmentation_is_frozen() -> None:
    seg = segment("hi")
    with pytest.raises(AttributeError):
        seg.units = 3  # type: ignore[misc]


# ---------------------------------------------------------------------------------------------
# national language tables

TURKISH_TEXT = (
    "Şişli'de güzel bir gün, İstanbul ğ ı ş. Yarın saat 10'da buluşalım mı? Çok teşekkürler!"
)
SPANISH_TEXT = "¿Qué tal? Mañana será un día fantástico, señorita Núñez. ¡Nos vemos allí!"
PORTUGUESE_TEXT = "Não há ação sem emoção; você está à vontade, João. Até amanhã às três, pão!"


@pytest.mark.parametrize(
    ("text", "language"),
    [(TURKISH_TEXT, TR), (SPANISH_TEXT, ES), (PORTUGUESE_TEXT, PT)],
)
def test_national_text_stays_gsm7(text: str, language: Language) -> None:
    plain = segment(text)
    assert plain.encoding is UCS2
    assert plain.part_count == 2  # 70 < len(text) <= 134
    national = segment(text, languages=[language])
    assert national.encoding is GSM7
    assert national.part_count == 1
    assert language in (national.locking_shift, national.single_shift)
    check_invariants(national, text)
    assert count_parts(text, languages=[language]) == (GSM7, national.units, 1)
    # the chosen tables really encode the text
    septets = encode_gsm7(
        text, locking_shift=national.locking_shift, single_shift=national.single_shift
    )
    assert len(septets) == national.units
    assert (
        decode_gsm7(
            septets, locking_shift=national.locking_shift, single_shift=national.single_shift
        )
        == text
    )


def test_national_table_choices() -> None:
    # Turkish: the locking table holds every Turkish letter at one septet.
    seg = segment(TURKISH_TEXT, languages=[TR])
    assert (seg.locking_shift, seg.single_shift) == (TR, None)
    assert seg.units == len(TURKISH_TEXT)
    # Spanish has no locking table: single shift only, accented vowels cost two septets.
    seg = segment(SPANISH_TEXT, languages=[ES])
    assert (seg.locking_shift, seg.single_shift) == (None, ES)
    assert seg.units == len(SPANISH_TEXT) + sum(SPANISH_TEXT.count(c) for c in "áíóúÁÍÓÚ")
    # Portuguese: the locking table is cheaper than escaping each accented letter.
    seg = segment(PORTUGUESE_TEXT, languages=[PT])
    assert (seg.locking_shift, seg.single_shift) == (PT, None)
    # A language that does not cover the text is skipped; none covering it means UCS-2.
    assert segment(SPANISH_TEXT, languages=[TR, ES]).single_shift is ES
    assert segment("ж ı", languages=[TR, ES, PT]).encoding is UCS2
    # Plain GSM text never uses a national table.
    assert segment("€" * 100, languages=[TR]) == Segmentation(GSM7, 200, ("€" * 76, "€" * 24))
    # Strings are accepted for languages; duplicates are harmless.
    assert segment("ı", languages=["turkish", "turkish"]).locking_shift is TR  # type: ignore[list-item]


def test_tie_prefers_single_shift_only() -> None:
    # "ãΦ": Portuguese single shift (ã escaped, Φ default) = 3 septets; Portuguese locking +
    # single shift (ã locked, Φ escaped) = 3 septets as well, one part each.
    seg = segment("ãΦ", languages=[PT])
    assert (seg.locking_shift, seg.single_shift, seg.units) == (None, PT, 3)


NATIONAL_VECTORS = [
    # single shift only (1 IE): 155 single, 149 per part
    pytest.param("á" + "a" * 153, [ES], (None, ES), [155], id="es-155"),
    pytest.param("á" + "a" * 154, [ES], (None, ES), [149, 7], id="es-156"),
    pytest.param("a" * 148 + "á" + "a" * 10, [ES], (None, ES), [148, 12], id="es-escape-at-149"),
    pytest.param("a" * 147 + "á" + "a" * 10, [ES], (None, ES), [149, 10], id="es-escape-fits"),
    # locking shift only (1 IE): 155 / 149
    pytest.param("ı" + "a" * 154, [TR], (TR, None), [155], id="tr-155"),
    pytest.param("ı" + "a" * 155, [TR], (TR, None), [149, 7], id="tr-156"),
    pytest.param("ı" * 298, [TR], (TR, None), [149, 149], id="tr-298"),
    # locking + single shift (2 IEs): 152 / 146. º is only in the Portuguese locking table,
    # Φ only in the default table and the Portuguese single shift table.
    pytest.param("ºΦ" + "a" * 149, [PT], (PT, PT), [152], id="pt-152"),
    pytest.param("ºΦ" + "a" * 150, [PT], (PT, PT), [146, 7], id="pt-153"),
    pytest.param("º" + "a" * 144 + "Φ" + "a" * 10, [PT], (PT, PT), [145, 12], id="pt-escape-146"),
    pytest.param("º" + "a" * 143 + "Φ" + "a" * 10, [PT], (PT, PT), [146, 10], id="pt-fits-146"),
]


@pytest.mark.parametrize(("text", "languages", "tables", "sizes"), NATIONAL_VECTORS)
def test_national_capacities(
    text: str,
    languages: list[Language],
    tables: tuple[Language | None, Language | None],
    sizes: list[int],
) -> None:
    seg = segment(text, languages=languages)
    assert seg.encoding is GSM7
    assert (seg.locking_shift, seg.single_shift) == tables
    assert [part_units(seg, p) for p in seg.parts] == sizes
    assert seg.units == sum(sizes)
    check_invariants(seg, text)
    assert count_parts(text, languages=languages) == (GSM7, sum(sizes), len(sizes))
    assert segment(text, "gsm7", languages=languages) == seg


def test_forced_gsm7_with_languages() -> None:
    assert segment("ı", "gsm7", languages=[TR]).encoding is GSM7
    with pytest.raises(EncodingError) as err:
        segment("ıж", "gsm7", languages=[TR])
    assert err.value.code == "not_gsm7"
    assert "'ж'" in err.value.message and "turkish" in err.value.message
    assert "'ı'" not in err.value.message
    # each character is encodable by some table, but no single pairing has both
    with pytest.raises(EncodingError, match="no one language") as err:
        segment("ıã", "gsm7", languages=[TR, PT])
    assert err.value.code == "not_gsm7"
    assert segment("ıã", languages=[TR, PT]).encoding is UCS2
    assert segment("ı", "ucs2", languages=[TR]).encoding is UCS2


def test_locking_table_replaces_default_table() -> None:
    # è is in the default table but not in the Turkish locking table
    with pytest.raises(EncodingError, match="è"):
        encode_gsm7("è", locking_shift=TR)
    # so a text with è and ı can only use the Turkish single shift table
    seg = segment("èı", languages=[TR])
    assert (seg.locking_shift, seg.single_shift, seg.units) == (None, TR, 3)


# ---------------------------------------------------------------------------------------------
# codecs and headers


def test_encode_gsm7_known_values() -> None:
    assert encode_gsm7("@£$") == b"\x00\x01\x02"
    assert encode_gsm7("€[x]") == b"\x1b\x65\x1b\x3cx\x1b\x3e"
    assert encode_gsm7("\r\n§¿Ç") == b"\x0d\x0a\x5f\x60\x09"
    assert encode_gsm7("ı", locking_shift=TR) == b"\x07"
    assert encode_gsm7("ı", single_shift=TR) == b"\x1b\x69"
    assert encode_gsm7("€", locking_shift=TR) == b"\x04"
    assert encode_gsm7("á", single_shift=ES) == b"\x1b\x61"
    assert encode_gsm7("ã`", locking_shift=PT) == b"\x7b\x7d"
    with pytest.raises(EncodingError) as err:
        encode_gsm7("ж")
    assert err.value.code == "not_gsm7"
    with pytest.raises(ValueError, match="no spanish locking"):
        encode_gsm7("a", locking_shift=ES)


@pytest.mark.parametrize(
    ("lock", "single"),
    [(lock, single) for lock in (None, TR, PT) for single in (None, TR, ES, PT)],
)
def test_gsm7_round_trip_every_table(lock: Language | None, single: Language | None) -> None:
    lock_table = gsm_tables.LOCKING_TABLES[lock.nli if lock else 0]
    shift_table = gsm_tables.SINGLE_SHIFT_TABLES[single.nli if single else 0]
    text = lock_table.replace("\x1b", "") + "".join(shift_table.values())
    septets = encode_gsm7(text, locking_shift=lock, single_shift=single)
    assert max(septets) <= 0x7F
    assert decode_gsm7(septets, locking_shift=lock, single_shift=single) == text
    # every septet value decodes to its table entry
    for code, ch in enumerate(lock_table):
        if code != gsm_tables.ESC:
            assert decode_gsm7(bytes([code]), locking_shift=lock) == ch


def test_decode_gsm7_is_lenient() -> None:
    assert decode_gsm7(b"\x1b\x41") == "A"  # unknown extension: the default-table character
    assert decode_gsm7(b"a\x1b") == "a "  # dangling ESC
    assert decode_gsm7(b"\x1b\x1b") == " "
    assert decode_gsm7(b"") == ""
    with pytest.raises(ValueError, match="0x80"):
        decode_gsm7(b"\x80")


def test_pack_septets_known_vectors() -> None:
    assert pack_septets(encode_gsm7("hellohello")) == bytes.fromhex("E8329BFD4697D9EC37")
    assert pack_septets(encode_gsm7("hello")) == bytes.fromhex("E8329BFD06")
    assert unpack_septets(bytes.fromhex("E8329BFD4697D9EC37"), 10) == encode_gsm7("hellohello")
    assert pack_septets(b"") == b""
    assert pack_septets(b"\x7f" * 8) == b"\xff" * 7
    assert pack_septets(b"\x01", fill_bits=1) == b"\x02"
    with pytest.raises(ValueError, match="0x7F"):
        pack_septets(b"\x80")
    with pytest.raises(ValueError, match="fill_bits"):
        pack_septets(b"a", fill_bits=7)
    with pytest.raises(ValueError, match="septets"):
        unpack_septets(b"\x00", 2)


@given(st.binary(max_size=200).map(lambda b: bytes(x & 0x7F for x in b)), st.integers(0, 6))
@settings(max_examples=300, deadline=None)
def test_pack_unpack_round_trip(septets: bytes, fill_bits: int) -> None:
    packed = pack_septets(septets, fill_bits)
    if septets:
        assert len(packed) == (fill_bits + 7 * len(septets) + 7) // 8
        assert packed[0] & ((1 << fill_bits) - 1) == 0  # fill bits are zero
    assert unpack_septets(packed, len(septets), fill_bits) == septets


def test_ucs2_codec() -> None:
    assert encode_ucs2("A" + EMOJI) == b"\x00\x41\xd8\x3d\xde\x00"
    assert decode_ucs2(b"\x00\x41\xd8\x3d\xde\x00") == "A" + EMOJI
    assert decode_ucs2(encode_ucs2("\ud83d")) == "\ud83d"  # lone surrogates survive
    with pytest.raises(ValueError, match="even"):
        decode_ucs2(b"\x00")


def test_udh_builders() -> None:
    assert concat_udh(0x42, 3, 1) == bytes.fromhex("050003420301")
    assert concat_udh(0x1FF, 3, 3) == bytes.fromhex("050003FF0303")  # reference masked
    assert concat_ie(7, 2, 2) == bytes.fromhex("0003070202")
    with pytest.raises(ValueError):
        concat_udh(1, 2, 3)
    with pytest.raises(ValueError):
        concat_udh(1, 256, 1)
    assert national_udh(None, None) == b""
    assert national_udh(None, ES) == bytes.fromhex("240102")
    assert national_udh(TR, None) == bytes.fromhex("250101")
    assert national_udh(PT, PT) == bytes.fromhex("240103250103")
    with pytest.raises(ValueError):
        national_udh(ES, None)
    udh = build_udh(concat_ie(9, 2, 1), national_udh(TR, TR))
    assert udh == bytes.fromhex("0B0003090201240101250101")
    assert build_udh() == b""
    assert [lang.nli for lang in Language] == [1, 2, 3]


# ---------------------------------------------------------------------------------------------
# property tests against smsutil (independent implementation, default tables only)
#
# smsutil counts U+001B (ESC) as a one-septet GSM character. In TS 23.038 0x1B is the escape
# to the extension table, not a character (a handset shows a lone one as a space), so we send
# such texts as UCS-2; ESC is therefore left out of the alphabets below. The tables
# themselves agree: smsutil's GSM_BASIC_CHARSET equals our default alphabet minus ESC.

GSM_ALPHABET = GSM_BASIC + EXT
BMP_ALPHABET = GSM_ALPHABET + "абвгдежзийклмнопрстуфхцчшщъыьэюяαβγδεζηθλμπσω`ç"
EMOJI_ALPHABET = BMP_ALPHABET + "".join(map(chr, range(0x1F600, 0x1F610))) + "\U0001f44d\u2764"


def long_texts(alphabet: str) -> st.SearchStrategy[str]:
    """Texts up to ~1600 characters: a random chunk repeated, plus random head and tail, so
    that part boundaries land on every kind of character."""
    chars = st.sampled_from(alphabet)
    return st.builds(
        lambda head, chunk, times, tail: (head + chunk * times + tail)[:1600] or "a",
        st.text(chars, max_size=200),
        st.text(chars, min_size=1, max_size=20),
        st.integers(0, 160),
        st.text(chars, max_size=30),
    )


def check_against_smsutil(text: str) -> None:
    ours = segment(text, max_parts=255)
    theirs = smsutil.split(text)
    assert ours.encoding is {"gsm0338": GSM7, "utf_16_be": UCS2}[theirs.encoding]
    assert [p.content for p in theirs.parts] == list(ours.parts)
    units = theirs.total_bytes if ours.encoding is GSM7 else theirs.total_bytes // 2
    assert ours.units == units
    assert count_parts(text) == (ours.encoding, ours.units, ours.part_count)
    check_default_alphabet_parts(text)
    check_invariants(ours, text)


def check_default_alphabet_parts(text: str) -> None:
    """The bulk shortcut agrees with segment, and answers for every plain default-alphabet text
    that fits."""
    for max_parts in (1, 3, 10, 255):
        fast = default_alphabet_parts(text, max_parts)
        try:
            seg = segment(text, max_parts=max_parts)
        except EncodingError:
            assert fast is None
            continue
        plain = seg.encoding is GSM7 and seg.units == len(text) and seg.single_shift is None
        if fast is not None:
            assert plain and fast == seg.part_count
        else:
            assert not (plain and seg.locking_shift is None and all(c in GSM_BASIC for c in text))


@given(long_texts(GSM_ALPHABET))
@settings(max_examples=300, deadline=None)
def test_matches_smsutil_gsm(text: str) -> None:
    check_against_smsutil(text)


@given(long_texts(BMP_ALPHABET))
@settings(max_examples=300, deadline=None)
def test_matches_smsutil_bmp(text: str) -> None:
    check_against_smsutil(text)


@given(long_texts(EMOJI_ALPHABET))
@settings(max_examples=300, deadline=None)
def test_matches_smsutil_emoji(text: str) -> None:
    check_against_smsutil(text)


# National tables: smsutil has none, so check against a naive character-by-character
# greedy splitter built on encode_gsm7.

NATIONAL_ALPHABET = "aeiou ,.!?€[ıİğĞşŞçÇáéíóúÁÍÓÚñÑãõêâôÃÕÊÂÔºª∞`Φ"


def naive_sizes(text: str, seg: Segmentation) -> list[int]:
    caps = {0: (160, 153), 1: (155, 149), 2: (152, 146)}
    single, multi = caps[(seg.locking_shift is not None) + (seg.single_shift is not None)]
    costs = [part_units(seg, ch) for ch in text]
    if sum(costs) <= single:
        return [sum(costs)]
    sizes = [0]
    for cost in costs:
        if sizes[-1] + cost > multi:
            sizes.append(0)
        sizes[-1] += cost
    return sizes


@given(long_texts(NATIONAL_ALPHABET), st.permutations([TR, ES, PT]), st.integers(1, 3))
@settings(max_examples=300, deadline=None)
def test_national_properties(text: str, languages: list[Language], how_many: int) -> None:
    langs = languages[:how_many]
    seg = segment(text, languages=langs, max_parts=255)
    check_invariants(seg, text)
    assert count_parts(text, languages=langs) == (seg.encoding, seg.units, seg.part_count)
    if seg.encoding is GSM7:
        assert [part_units(seg, p) for p in seg.parts] == naive_sizes(text, seg)
        assert seg.part_count <= segment(text, max_parts=255).part_count
    else:
        assert count_parts(text) == (UCS2, seg.units, seg.part_count)


@pytest.mark.parametrize("wide", ["€", "[", EMOJI])
def test_boundary_sweep_matches_smsutil(wide: str) -> None:
    base = "ж" if wide == EMOJI else "a"
    for k in [*range(60, 72), *range(128, 164), *range(298, 310)]:
        for tail in (0, 1, 9, 150):
            check_against_smsutil(base * k + wide + base * tail)
            check_against_smsutil(wide * k + base * tail)


def test_lone_surrogates_are_one_unit_each() -> None:
    # Python strings may hold unpaired surrogates (e.g. from lax JSON); they cannot be UTF-16
    # encoded strictly, so they take the character-based path and count one unit each.
    text = "\udc00" + "ж" * 65 + EMOJI + "ж" * 10
    seg = segment(text)
    assert (seg.encoding, seg.units) == (UCS2, 78)
    assert [len(encode_ucs2(p)) // 2 for p in seg.parts] == [66, 12]
    assert "".join(seg.parts) == text
    assert count_parts(text) == (UCS2, 78, 2)
    assert count_parts("\ud83d" * 71) == (UCS2, 71, 2)


# -- binary (8-bit) SMS ------------------------------------------------------------------------


def test_binary_with_own_header_is_one_part_of_140_octets() -> None:
    seg = segment("ab" * 134, "binary", udh="050003CC0201")
    assert (seg.encoding, seg.units, seg.parts) == (Encoding.BINARY, 134, ("ab" * 134,))
    with pytest.raises(EncodingError) as caught:
        segment("ab" * 135, "binary", udh="050003CC0201")
    assert caught.value.code == "text_too_long" and "134" in caught.value.message


@pytest.mark.parametrize(("octets", "parts"), [(1, 1), (140, 1), (141, 2), (268, 2), (269, 3)])
def test_binary_without_header_splits_at_134_octets(octets: int, parts: int) -> None:
    data = "0f" * octets
    seg = segment(data, "binary")
    assert seg.part_count == parts and "".join(seg.parts) == data
    assert count_parts(data, "binary") == (Encoding.BINARY, octets, parts)


@pytest.mark.parametrize(
    ("data", "udh", "code"),
    [
        ("", None, "text_empty"),
        ("abc", None, "invalid_binary"),
        ("zz", None, "invalid_binary"),
        ("hello", "050003CC0201", "invalid_binary"),
        ("00", "0500", "invalid_udh"),
        ("00", "05gg03CC0201", "invalid_udh"),
        ("00", "00", "invalid_udh"),
    ],
)
def test_binary_refusals(data: str, udh: str | None, code: str) -> None:
    with pytest.raises(EncodingError) as caught:
        segment(data, "binary", udh=udh)
    assert caught.value.code == code


def test_binary_too_many_parts() -> None:
    with pytest.raises(EncodingError) as caught:
        segment("00" * (134 * 10 + 1), "binary")
    assert caught.value.code == "text_too_long"
