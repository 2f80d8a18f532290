"""Opt-out footers: choosing one per country, never twice, and fitting it into the message."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rules.footers import (
    Footer,
    OptoutReach,
    already_has_optout,
    fit,
    footer_for,
    has_prefix,
    optout_reach,
    ucs2_form,
)
from smpp.gsm import DEFAULT_ALPHABET, EXTENSION_TABLE, gsm_septets
from smpp.segments import build_parts, concat_info
from smpp.text import (
    CONCAT_UDH_LENGTH,
    Alphabet,
    ConcatKind,
    alphabet_of,
    decode_text,
    encode_text,
    part_capacity,
    segment_count,
)


@dataclass(frozen=True)
class Entry:
    country: str
    text: str
    language: str = ""
    prefix: str = ""


FOOTERS = (Entry("FR", "STOP au {shortcode}"), Entry("*", "Opt-out: {url}"))
URL = "https://no-s.ms/Xy7k2Q"
STOP_FR = Footer("STOP au 36173", "FR", "footers[0]")
LINK = Footer(f"Opt-out: {URL}", "*", "footers[1]")


# --- footer_for ------------------------------------------------------------------------


def test_french_recipient_gets_stop_to_the_accounts_shortcode() -> None:
    footer = footer_for("FR", FOOTERS, url=URL, shortcode="36173")
    assert footer == Footer("STOP au 36173", "FR", "footers[0]")


def test_country_match_ignores_case() -> None:
    footer = footer_for("fr", [Entry("Fr", "STOP au {shortcode}")], url=URL, shortcode="36173")
    assert footer is not None and footer.text == "STOP au 36173"


def test_other_countries_get_their_own_link() -> None:
    footer = footer_for("DE", FOOTERS, url=URL, shortcode="36173")
    assert footer == Footer(f"Opt-out: {URL}", "*", "footers[1]")


def test_star_entry_is_the_fallback_wherever_it_stands() -> None:
    footers = [Entry("*", "Unsubscribe: {url}"), Entry("GB", "Reply STOP to {shortcode}")]
    gb = footer_for("GB", footers, url=URL, shortcode="60777")
    it = footer_for("IT", footers, url=URL, shortcode="60777")
    assert gb == Footer("Reply STOP to 60777", "GB", "footers[1]")
    assert it == Footer(f"Unsubscribe: {URL}", "*", "footers[0]")


def test_unknown_recipient_country_gets_the_star_entry() -> None:
    assert footer_for("", FOOTERS, url=URL, shortcode="36173") == LINK


def test_account_without_shortcode_falls_through_to_the_link() -> None:
    for shortcode in (None, ""):
        footer = footer_for("FR", FOOTERS, url=URL, shortcode=shortcode)
        assert footer == Footer(f"Opt-out: {URL}", "*", "footers[1]")


def test_no_url_skips_link_footers() -> None:
    assert footer_for("DE", FOOTERS, url=None, shortcode="36173") is None


def test_empty_text_means_no_footer_for_that_country() -> None:
    footers = [Entry("US", ""), *FOOTERS]
    assert footer_for("US", footers, url=URL, shortcode="36173") is None
    assert footer_for("GB", footers, url=URL, shortcode="36173") == Footer(
        LINK.text, "*", "footers[2]"
    )


def test_no_matching_entry_means_no_footer() -> None:
    assert footer_for("DE", [Entry("FR", "STOP au 36173")], url=URL, shortcode=None) is None


def test_literal_braces_survive_rendering() -> None:
    footer = footer_for("DE", [Entry("*", "{{STOP}} {url}")], url=URL, shortcode=None)
    assert footer is not None and footer.text == "{STOP} " + URL


def test_an_entry_may_put_a_label_before_the_text() -> None:
    footers = [Entry("ES", "Baja: {url}", prefix="PUBLI "), *FOOTERS]
    assert footer_for("ES", footers, url=URL, shortcode=None) == Footer(
        f"Baja: {URL}", "ES", "footers[0]", "PUBLI ")
    assert footer_for("PT", footers, url=URL, shortcode=None) == LINK_AFTER_LABEL
    # A label alone (empty text) is still something to add; empty text without one is not.
    alone = footer_for("ES", [Entry("ES", "", prefix="PUBLI ")], url=URL, shortcode=None)
    assert alone == Footer("", "ES", "footers[0]", "PUBLI ")


LINK_AFTER_LABEL = Footer(LINK.text, "*", "footers[2]")


def test_the_gateway_config_entries_are_footer_like() -> None:
    from gateway.config.model import Config

    footer = footer_for("FR", Config().footers, url=URL, shortcode="36173")
    assert footer is not None and footer.text == "STOP au 36173"


# --- already_has_optout ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Soldes -30% ce week-end ! STOP au 36173",
        "Soldes -30% ce week-end ! stop AU 36 173",
        "Soldes -30%\nSTOP\tau\n36173",
        "Soldes -30% ce week-end ! Stop SMS 36173",
        "Soldes -30% ce week-end ! STOP à 36173",
        "Soldes -30% ce week-end ! STOP au numéro 36173",
    ],
)
def test_french_text_that_already_says_stop_to_the_footers_own_number_keeps_it(text: str) -> None:
    assert already_has_optout(text, "FR", STOP_FR)


@pytest.mark.parametrize(
    "text",
    [
        "Soldes non-stop 20245 !",
        "Soldes non stop 36173 !",
        "Soldes STOP 2025 : tout doit partir",
        "Désinscription : https://acme.fr/u",  # France wants STOP to a shortcode
        "On ne s'arrête pas : stop aux prix hauts !",
        "Bus stop 12",
        # Issue 12: STOP to another number never reaches this gateway: not the footer.
        "Soldes -30% ce week-end ! STOP 38200",
        "Soldes -30% ce week-end ! STOP au 36180",
        "Soldes -30% ce week-end ! STOP au 06 12 34 56 78",
        "Soldes -30% ce week-end ! STOP au 361730",
        "Soldes -30% ce week-end ! STOP SMS au 3617",
    ],
)
def test_french_text_without_stop_to_a_number_gets_the_footer(text: str) -> None:
    assert not already_has_optout(text, "FR", STOP_FR)


#: An account's reach: shortcode 36173, a British long number, an alphanumeric sender id
#: (nobody can reply to it), the links of the default optout.base_url.
REACH = optout_reach(["36173", "+447700900123", "ACME"], "GB", "no-s.ms")
OWN_LONG = {"source": "447700900123", "source_ton": 1}
ALPHANUMERIC = {"source": "ACME", "source_ton": 5}

#: (country, a mention that leads to stopgate, the same wording leading elsewhere, the
#: message's source for both). Issue 12: only the first counts as the footer.
MENTIONS = [
    ("GB", "Big sale! Reply STOP to opt out", None, OWN_LONG),
    ("US", "Big sale! Text 'STOP' to 36173", "Big sale! Text 'STOP' to 60777", ALPHANUMERIC),
    ("US", "Big sale! STOP2END", None, OWN_LONG),
    ("BE", "Big sale! STOP to 36173", "Big sale! STOP to 8686", ALPHANUMERIC),
    ("GB", "Big sale! STOP 36173", "Big sale! STOP 60777", OWN_LONG),
    ("GB", "Big sale! Reply STOP to 07700 900123", "Big sale! Reply STOP to 07700 900456",
     ALPHANUMERIC),
    ("GB", "Big sale! Reply STOP to +44 7700 900123", "Big sale! Reply STOP to 99999",
     OWN_LONG),
    ("IE", "Big sale! Unsubscribe: https://no-s.ms/u/1",
     "Big sale! Unsubscribe: https://acme.com/u/1", OWN_LONG),
    ("AU", "Big sale! To opt out visit no-s.ms/Xy7", "Big sale! To opt out visit acme.com",
     OWN_LONG),
    ("BE", "Grosses soldes ! Désinscription : https://NO-S.MS/u",
     "Grosses soldes ! Désinscription : https://acme.be/u", OWN_LONG),
    ("ES", "¡Rebajas! Baja: https://no-s.ms/b", "¡Rebajas! Baja: https://acme.es/b", OWN_LONG),
    ("ES", "¡Rebajas! Envía BAJA al 36173", "¡Rebajas! Envía BAJA al 217070", OWN_LONG),
    ("ES", "¡Rebajas! Envía BAJA", None, OWN_LONG),
    ("MX", "¡Rebajas! Para darte de baja visita no-s.ms/x",
     "¡Rebajas! Para darte de baja visita acme.es", OWN_LONG),
    ("DE", "Sale! Zum Abmelden: https://no-s.ms/a", "Sale! Zum Abmelden: https://acme.de/a",
     OWN_LONG),
    ("DE", "Sale! Zum Abmelden STOP an 36173", "Sale! Zum Abmelden STOP an 0151 23456789",
     ALPHANUMERIC),
    ("DE", "Sale! Abmelden: Antwort STOP", None, OWN_LONG),
    ("IT", "Saldi! Disiscriviti: https://no-s.ms/d", "Saldi! Disiscriviti: https://acme.it/d",
     OWN_LONG),
    ("NL", "Uitverkoop! Afmelden: https://no-s.ms/a",
     "Uitverkoop! Afmelden: https://acme.nl/a", OWN_LONG),
    ("BR", "Promoção! Descadastre-se: https://no-s.ms/d",
     "Promoção! Descadastre-se: https://acme.br/d", OWN_LONG),
]


def test_the_rendered_footer_itself_counts_whatever_the_reach() -> None:
    assert already_has_optout(f"Big sale! OPT-OUT:  {URL.upper()}", "GB", LINK)
    assert already_has_optout(f"Big sale!\n{LINK.text}", "US", LINK, REACH, **ALPHANUMERIC)


@pytest.mark.parametrize(("country", "here", "elsewhere", "source"), MENTIONS)
def test_a_mention_counts_as_the_footer_only_when_it_leads_to_stopgate(
    country: str, here: str, elsewhere: str | None, source: dict[str, Any],
) -> None:
    assert already_has_optout(here, country, LINK, REACH, **source)
    # Without the account's numbers, link host and source, nothing leads here.
    assert not already_has_optout(here, country, LINK)
    if elsewhere is not None:
        assert not already_has_optout(elsewhere, country, LINK, REACH, **source)


@pytest.mark.parametrize(("country", "text"), [
    ("GB", "Big sale! Reply STOP to opt out"), ("US", "Big sale! STOP2END"),
    ("ES", "¡Rebajas! Envía BAJA"), ("DE", "Sale! Abmelden: Antwort STOP"),
])
@pytest.mark.parametrize("source", [
    ALPHANUMERIC,  # nobody can reply to a sender id
    {"source": "447700900999", "source_ton": 1},  # a number the account does not list
    {"source": "", "source_ton": 0},  # the carrier's default sender
])
def test_a_mention_without_number_or_link_needs_a_source_replies_come_back_to(
    country: str, text: str, source: dict[str, Any],
) -> None:
    assert not already_has_optout(text, country, LINK, REACH, **source)
    assert already_has_optout(text, country, LINK, REACH, source="36173", source_ton=0)
    assert already_has_optout(text, country, LINK, REACH, source="07700900123", source_ton=2)


def test_a_reply_mention_followed_by_another_number_goes_to_that_number() -> None:
    for text in ("Big sale! Reply STOP to 99999", "Big sale! Text STOP to 99999 to opt out",
                 "Big sale, text STOP to opt out at 60777"):
        assert not already_has_optout(text, "GB", LINK, REACH, **OWN_LONG), text
    # A number in another sentence is not where the reply goes.
    assert already_has_optout("Reply STOP to opt out. Call 0800 123 456 for help", "GB",
                              LINK, REACH, **OWN_LONG)


def test_the_footers_own_number_counts_even_when_the_account_does_not_list_it() -> None:
    stop = Footer("Reply STOP to 60606", "*", "footers[0]")
    assert already_has_optout("Sale! STOP to 60 606", "US", stop)
    assert already_has_optout("Sale! Reply STOP", "US", stop, source="60606")
    assert not already_has_optout("Sale! STOP to 60607", "US", stop, REACH)


def test_a_token_in_a_link_footer_is_never_read_as_a_number() -> None:
    footer = Footer("Opt-out: no-s.ms/36173999", "*", "footers[0]")
    assert not already_has_optout("Sale! STOP to 36173999", "GB", footer)


def test_france_is_unchanged_only_the_footers_own_number_counts() -> None:
    reach = optout_reach(["36173", "+33757000000"], "FR", "no-s.ms")
    assert already_has_optout("Soldes ! STOP au 36173", "FR", STOP_FR, reach)
    # Not the account's other number, nor a link to stopgate, nor "répondez STOP".
    assert not already_has_optout("Soldes ! STOP au 07 57 00 00 00", "FR", STOP_FR, reach)
    assert not already_has_optout("Soldes ! Désinscription : no-s.ms/x", "FR", STOP_FR, reach)
    assert not already_has_optout("Soldes ! Répondez STOP", "FR", STOP_FR, reach,
                                  source="33757000000", source_ton=1)


def test_optout_reach_keeps_numbers_only_as_sender_keys() -> None:
    reach = optout_reach(["36173", " 07700 900123", "ACME", "+33 7 57 00 00 00", ""], "gb",
                         "No-S.ms")
    assert reach == OptoutReach(frozenset({"36173", "+447700900123", "+33757000000"}), "GB",
                                "no-s.ms")


@settings(max_examples=200, deadline=None)
@given(
    st.integers(10_000, 99_999_999).filter(lambda n: n != 36173),
    st.sampled_from(["Reply STOP to {}", "STOP to {}", "Text STOP to {} to opt out",
                     "Envía BAJA al {}", "Zum Abmelden STOP an {}"]),
    st.sampled_from(["GB", "US", "ES", "DE"]),
    st.sampled_from([OWN_LONG, ALPHANUMERIC]),
)
def test_stop_to_any_other_number_never_counts(
    number: int, wording: str, country: str, source: dict[str, Any],
) -> None:
    text = "Big sale this weekend! " + wording.format(number)
    assert not already_has_optout(text, country, LINK, REACH, **source)
    assert already_has_optout(text.replace(str(number), "36173"), country, LINK, REACH,
                              **source)


@settings(max_examples=200, deadline=None)
@given(
    st.from_regex(r"[a-z][a-z0-9-]{0,10}\.(?:com|example|ms|fr)", fullmatch=True),
    st.sampled_from(["Unsubscribe: https://{}/u/1", "Opt-out: {}/x", "Baja: http://{}/b",
                     "To unsubscribe visit {}"]),
)
def test_a_link_counts_only_on_the_base_url_host(host: str, wording: str) -> None:
    text = "Big sale this weekend! " + wording.format(host)
    assert already_has_optout(text, "GB", LINK, REACH, **OWN_LONG) == (host == "no-s.ms")


@pytest.mark.parametrize(
    ("text", "country"),
    [
        ("Our prices stop at nothing! Open non-stop 24 7 365", "GB"),
        ("Black Friday non stop 2025, stop 2025 prices", "GB"),
        ("Stop by our store at 123 Main St", "US"),
        ("¡Baja de precios en toda la tienda!", "ES"),
        ("Your order ships today", "GB"),
    ],
)
def test_text_without_an_opt_out_mention_gets_the_footer(text: str, country: str) -> None:
    assert not already_has_optout(text, country, LINK)


# --- has_prefix -----------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "has"), [
    ("PUBLI Rebajas: -30% en todo", True),
    ("publi: rebajas", True),
    ("  Publi - rebajas", True),
    ("PÚBLI rebajas", True),  # accents folded
    ("P U B L I rebajas", True),  # spacing ignored
    ("Publicamos nuestras ofertas", False),  # not the word
    ("Publicidad: rebajas", False),  # another word (the label is added: "PUBLI Publicidad")
    ("Rebajas PUBLI", False),  # not at the start
    ("", False),
])
def test_a_text_has_the_label_only_when_it_starts_with_it_as_a_word(text: str,
                                                                    has: bool) -> None:
    assert has_prefix(text, "PUBLI ") is has
    assert has_prefix(text, "") is True


def test_a_label_ending_in_punctuation_may_run_on() -> None:
    assert has_prefix("[PUB]Soldes", "[PUB] ")
    assert not has_prefix("[PU] Soldes", "[PUB] ")


# --- fit: the label --------------------------------------------------------------------------


def test_the_label_goes_before_the_text_and_counts_in_the_parts() -> None:
    text = "Rebajas: -30% en todo " + "x" * 113  # 135 septets: with the footer, 149
    fitted = fit(text, "Baja: no-s.ms/AbC123xyz", 0)
    assert (fitted.parts_after, fitted.extra_segments) == (1, 0)
    labelled = fit(text, "Baja: no-s.ms/AbC123xyz", 0, prefix="PUBLI ")  # 160 -> 161: two
    assert labelled.text == "PUBLI " + text + "\nBaja: no-s.ms/AbC123xyz"
    assert (labelled.parts_before, labelled.parts_after, labelled.extra_segments) == (1, 2, 1)
    assert decode_text(_reassemble(labelled.segments, "udh8"), 0) == labelled.text
    assert labelled.segments[0].startswith(encode_text("PUBLI Rebajas", 0))


def test_a_label_alone_adds_no_separator() -> None:
    fitted = fit("Rebajas", "", 0, prefix="PUBLI ")
    assert fitted.added and fitted.text == "PUBLI Rebajas"
    assert fit("Rebajas", "", 0).reason == "empty_footer"


def test_a_label_outside_gsm_switches_the_whole_message_to_ucs2() -> None:
    fitted = fit("Soldes", "STOP au 36173", 0, prefix="Ωμέγα ")
    assert fitted.switched_to_ucs2 and fitted.data_coding == 8
    assert decode_text(fitted.payload, 8) == "Ωμέγα Soldes\nSTOP au 36173"


# --- fit: GSM ------------------------------------------------------------------------------


def test_gsm_footer_that_fits_stays_in_the_same_part() -> None:
    text = "a" * 140
    fitted = fit(text, "STOP au 36173", 0)
    assert fitted.added and fitted.reason == "added"
    assert fitted.text == text + "\nSTOP au 36173"
    assert fitted.data_coding == 0 and not fitted.switched_to_ucs2
    assert (fitted.parts_before, fitted.parts_after, fitted.extra_segments) == (1, 1, 0)
    assert fitted.segments == [encode_text(fitted.text, 0)] == [fitted.payload]


def test_gsm_footer_that_does_not_fit_costs_one_extra_segment() -> None:
    text = "Promo " + "x" * 144  # 150 septets
    fitted = fit(text, "STOP au 36173", 0)
    assert (fitted.parts_before, fitted.parts_after, fitted.extra_segments) == (1, 2, 1)
    assert [len(s) for s in fitted.segments] == [153, 11]
    assert all(len(s) <= 153 for s in fitted.segments)
    reassembled = _reassemble(fitted.segments, "udh8")
    assert decode_text(reassembled, 0) == text + "\nSTOP au 36173"


def test_gsm_escape_is_never_split_between_segments() -> None:
    text = "a" * 152 + "€"  # the escape pair straddles septet 153
    fitted = fit(text, "STOP au 36173", 0)
    assert len(fitted.segments[0]) == 152
    assert fitted.segments[1].startswith(b"\x1b\x65")
    assert "".join(decode_text(s, 0) for s in fitted.segments) == fitted.text


def test_euro_and_uppercase_accents_in_the_footer_stay_gsm() -> None:
    fitted = fit("Soldes", "Dès 5€ — ÉTÉ".replace(" — ", " - "), 0)
    assert fitted.data_coding == 0 and not fitted.switched_to_ucs2


def test_footer_outside_gsm_switches_the_whole_message_to_ucs2() -> None:
    text = "Soldes d'hiver " + "a" * 85  # 100 GSM characters, one part
    footer = "Pour arrêter : STOP au 36173"  # ê is not GSM 03.38
    fitted = fit(text, footer, 0)
    assert fitted.switched_to_ucs2 and fitted.data_coding == 8
    assert fitted.payload == (text + "\n" + footer).encode("utf-16-be")
    # 129 UCS-2 units: two parts of at most 67
    assert (fitted.parts_before, fitted.parts_after, fitted.extra_segments) == (1, 2, 1)
    assert [len(s) // 2 for s in fitted.segments] == [67, 62]
    assert decode_text(_reassemble(fitted.segments, "udh8"), 8) == text + "\n" + footer


def test_switch_to_ucs2_keeps_the_message_class() -> None:
    assert fit("Flash sale", "ç", 0x10).data_coding == 0x18  # class 0 (flash) stays flash
    assert fit("Flash sale", "ç", 0xF0).data_coding == 0x18
    assert fit("Sale", "ç", 0xF1).data_coding == 0x19
    assert fit("Sale", "ç", 0x01).data_coding == 8
    assert fit("Sale", "€", 0x03).data_coding == 8
    assert alphabet_of(ucs2_form(0xD0)) is Alphabet.UCS2


def test_emoji_in_the_footer_switches_gsm_to_ucs2() -> None:
    fitted = fit("Hello", "Bye 👋", 0)
    assert fitted.data_coding == 8 and decode_text(fitted.payload, 8) == "Hello\nBye 👋"


# --- fit: UCS-2, Latin-1, binary, limits -------------------------------------------------------


def test_ucs2_message_with_emoji_never_splits_a_surrogate_pair() -> None:
    text = "Ç" * 66 + "😀" * 3  # the first emoji straddles code unit 67
    fitted = fit(text, "STOP au 36173", 8)
    assert fitted.data_coding == 8 and not fitted.switched_to_ucs2
    assert len(fitted.segments[0]) == 66 * 2
    for segment in fitted.segments:
        assert len(segment) <= 67 * 2
        assert encode_text(decode_text(segment, 8), 8) == segment  # no lone surrogate
    assert "".join(decode_text(s, 8) for s in fitted.segments) == text + "\nSTOP au 36173"


def test_ucs2_message_counts_parts_in_code_units() -> None:
    fitted = fit("😀" * 30, "STOP au 36173", 8)  # 60 units + 14 = 74 > 70
    assert (fitted.parts_before, fitted.parts_after) == (1, 2)


def test_latin1_message_keeps_latin1_when_the_footer_fits_it() -> None:
    text = "Café crème à 2,50 ¤ — ÿ".replace("—", "-")
    fitted = fit(text, "Désinscription : " + URL, 3)
    assert fitted.data_coding == 3 and not fitted.switched_to_ucs2
    assert fitted.payload == (text + "\nDésinscription : " + URL).encode("latin-1")


def test_latin1_message_whose_footer_has_a_euro_goes_ucs2() -> None:
    fitted = fit("Café", "Dès 5€", 3)  # € is GSM, but not Latin-1
    assert fitted.data_coding == 8 and fitted.switched_to_ucs2


def test_latin1_parts_hold_140_octets() -> None:
    fitted = fit("é" * 130, "STOP au 36173", 3)
    assert [len(s) for s in fitted.segments] == [134, 10]


def test_message_that_already_has_stop_au_is_left_as_is() -> None:
    text = "Soldes ! -30% sur tout. stop  AU 36173"
    footer = footer_for("FR", FOOTERS, url=URL, shortcode="36173")
    assert footer is not None
    assert already_has_optout(text, "FR", footer)  # the caller then skips fit()


def test_binary_message_is_untouched() -> None:
    data = bytes(range(256)).decode("latin-1")[:120]
    fitted = fit(data, "STOP au 36173", 4)
    assert not fitted.added and fitted.reason == "binary"
    assert fitted.data_coding == 4 and fitted.text == data
    assert fitted.payload == data.encode("latin-1")
    assert (fitted.parts_before, fitted.parts_after, fitted.extra_segments) == (1, 1, 0)


def test_footer_that_would_exceed_255_parts_is_not_added() -> None:
    text = "a" * (255 * 153)
    fitted = fit(text, "STOP au 36173", 0)
    assert not fitted.added and fitted.reason == "too_long"
    assert fitted.text == text and fitted.data_coding == 0
    assert fitted.parts_before == fitted.parts_after == 255 and len(fitted.segments) == 255


def test_text_its_own_data_coding_cannot_carry_is_reported_not_mangled() -> None:
    fitted = fit("Soldes \ufffd", "STOP au 36173", 0)  # an invalid octet from the sender
    assert not fitted.added and fitted.reason == "unencodable_text"


def test_sar_parts_hold_153_septets_as_the_smsc_adds_a_udh_over_the_air() -> None:
    fitted = fit("a" * 160, "STOP au 36173", 0, concat="sar")
    assert [len(s) for s in fitted.segments] == [153, 21]


def test_message_payload_carries_everything_in_one_segment() -> None:
    fitted = fit("a" * 400, "STOP au 36173", 0, concat="payload")
    assert fitted.parts_before == fitted.parts_after == 1 and len(fitted.segments) == 1


def test_udh16_parts_hold_152_septets() -> None:
    fitted = fit("a" * 152 * 2, "STOP au 36173", 0, concat="udh16")
    assert (fitted.parts_before, fitted.parts_after) == (2, 3)
    assert [len(s) for s in fitted.segments] == [152, 152, 14]


# --- fit: properties ----------------------------------------------------------------------

_GSM_BASIC = [c for c in DEFAULT_ALPHABET if c != "\x1b"]
_GSM_ESCAPED = list(EXTENSION_TABLE.values())
_ACCENTS = list("çêîôûÀÂÈÊËÏÔÙÛÿœŒ«»°ñ¿¡")
_OTHER = ["😀", "👋🏽", "🇫🇷", "€", "—", "\u2019", "ł", "Ж", "中", "\u00a0"]
_ANY = _GSM_BASIC + _GSM_ESCAPED + _ACCENTS + _OTHER
_CODINGS = [0x00, 0x01, 0x03, 0x08, 0x10, 0x18, 0xF1]


def _encodable(char: str, data_coding: int) -> bool:
    alphabet = alphabet_of(data_coding)
    if alphabet is Alphabet.GSM:
        return gsm_septets(char) is not None
    if alphabet is Alphabet.IA5:
        return char.isascii()
    if alphabet is Alphabet.LATIN1:
        return max(char) <= "\xff"
    return True


@st.composite
def messages(draw: st.DrawFn) -> tuple[str, str, str, int, ConcatKind, str]:
    data_coding = draw(st.sampled_from(_CODINGS))
    own = [c for c in _ANY if _encodable(c, data_coding)]
    chars = st.sampled_from(own)
    # A repeated chunk makes long, multipart texts; its two-unit characters (escapes,
    # surrogate pairs) then land on every part edge for some offset.
    chunk = "".join(draw(st.lists(chars, min_size=1, max_size=6)))
    text = "".join(
        (
            "".join(draw(st.lists(chars, max_size=20))),
            chunk * draw(st.integers(0, 700 // len(chunk))),
            "".join(draw(st.lists(chars, max_size=20))),
        )
    )
    footer = "".join(draw(st.lists(st.sampled_from(_ANY), min_size=1, max_size=60)))
    separator = draw(st.sampled_from(["\n", " ", " - ", "—"]))
    concat: ConcatKind = draw(st.sampled_from(["udh8", "udh16", "sar", "payload"]))
    # A label before the text (Spain's "PUBLI "), half the time.
    prefix = draw(st.one_of(st.just(""), st.sampled_from(["PUBLI ", "[PUB] ", "Ωμέγα: "]),
                            st.lists(st.sampled_from(_ANY), max_size=12).map("".join)))
    return text, footer, separator, data_coding, concat, prefix


@settings(max_examples=400, deadline=None)
@given(messages())
def test_fitted_segments_are_valid_and_reassemble_to_text_and_footer(
    message: tuple[str, str, str, int, ConcatKind, str],
) -> None:
    text, footer, separator, data_coding, concat, prefix = message
    fitted = fit(text, footer, data_coding, concat=concat, separator=separator, prefix=prefix)
    assert fitted.added and fitted.reason == "added"
    expected = prefix + text + separator + footer
    assert fitted.text == expected

    out = fitted.data_coding
    needs_switch = not all(_encodable(c, data_coding) for c in prefix + separator + footer)
    assert fitted.switched_to_ucs2 == needs_switch
    if needs_switch:
        assert out == ucs2_form(data_coding) and alphabet_of(out) is Alphabet.UCS2
        assert data_coding not in (0, 1, 3) or out == 8
    else:
        assert out == data_coding

    unit = 2 if alphabet_of(out) is Alphabet.UCS2 else 1
    if concat == "payload":
        assert len(fitted.segments) == 1
    elif len(fitted.segments) == 1:
        assert len(fitted.segments[0]) <= part_capacity(out) * unit
    else:
        udh = CONCAT_UDH_LENGTH[concat]
        for segment in fitted.segments:
            assert len(segment) <= part_capacity(out, udh) * unit
    for segment in fitted.segments:
        # Each part decodes on its own: no half escape, no lone surrogate.
        assert segment
        assert encode_text(decode_text(segment, out), out) == segment
    assert b"".join(fitted.segments) == fitted.payload
    assert "".join(decode_text(s, out) for s in fitted.segments) == expected
    assert decode_text(fitted.payload, out) == expected

    assert fitted.parts_before == segment_count(text, data_coding, concat=concat)
    assert fitted.parts_after == len(fitted.segments) >= fitted.parts_before
    assert fitted.extra_segments == fitted.parts_after - fitted.parts_before


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(_ANY), max_size=200).map("".join),
    st.lists(st.sampled_from(_ANY), min_size=1, max_size=60).map("".join),
    st.sampled_from(["FR", "GB", "ES", ""]),
)
def test_a_footered_message_is_never_footered_again(text: str, footer: str, country: str) -> None:
    rendered = Footer(footer, "*", "footers[0]")
    fitted = fit(text, footer, 8)
    assert already_has_optout(fitted.text, country, rendered)


# --- helpers ----------------------------------------------------------------------------------


def _reassemble(segments: list[bytes], kind: ConcatKind) -> bytes:
    """Build the PDUs a sender would receive and read them back as an SMSC would."""
    payloads = []
    for esm_class, short_message, tlvs in build_parts(segments, 42, kind):
        info = concat_info(esm_class, short_message, tlvs)
        if info is None:
            payloads.append(short_message)
        else:
            assert info.total == len(segments)
            payloads.append(info.payload)
    return b"".join(payloads)



# --- issue 12: the footer's own number, languages, national codings ---------------------------


def test_french_stop_mention_counts_only_with_the_number_a_literal_footer_gives() -> None:
    literal = Footer("STOP SMS au 38 200", "FR", "footers[0]")
    assert already_has_optout("Promo ! stop au 38200", "FR", literal)
    assert not already_has_optout("Promo ! STOP au 36173", "FR", literal)


def test_french_link_footer_counts_no_stop_mention_at_all() -> None:
    link = Footer("Désinscription : no-s.ms/AbC123xyz", "FR", "footers[0]")
    assert not already_has_optout("Promo ! STOP au 36173", "FR", link)
    assert already_has_optout("Promo !\nDésinscription : no-s.ms/AbC123xyz", "FR", link)


def test_the_rendered_footer_must_not_run_on_into_another_token() -> None:
    # (In France, where no link wording counts as a mention of its own.)
    link = Footer("Désinscription : no-s.ms/AbC123xyz", "FR", "footers[1]")
    assert not already_has_optout("Promo ! Désinscription : no-s.ms/AbC123xyzQ", "FR", link)
    assert already_has_optout("Promo ! Désinscription : no-s.ms/AbC123xyz.", "FR", link)
    stop = Footer("STOP au 36173", "FR", "footers[0]")
    assert not already_has_optout("Promo ! STOP au 361735", "FR", stop)


LANGUAGE_FOOTERS = (
    Entry("FR", "STOP au {shortcode}"),
    Entry("BE", "Afmelden: {url}", "nl"),
    Entry("BE", "Désinscription : {url}", "FR"),
    Entry("*", "Opt-out: {url}"),
)


@pytest.mark.parametrize(
    ("language", "expected"),
    [("nl", f"Afmelden: {URL}"), ("fr", f"Désinscription : {URL}"), ("de", f"Opt-out: {URL}"),
     ("", f"Opt-out: {URL}")],
)
def test_a_country_of_several_languages_takes_the_accounts(language: str, expected: str) -> None:
    footer = footer_for("BE", LANGUAGE_FOOTERS, url=URL, shortcode="36173", language=language)
    assert footer is not None and footer.text == expected


def test_a_language_entry_never_applies_to_an_account_of_another_language() -> None:
    footers = (Entry("*", "Désinscription : {url}", "fr"), Entry("*", "Opt-out: {url}"))
    assert footer_for("GB", footers, url=URL, shortcode=None, language="en") == Footer(
        f"Opt-out: {URL}", "*", "footers[1]")
    assert footer_for("GB", footers, url=URL, shortcode=None, language="fr") == Footer(
        f"Désinscription : {URL}", "*", "footers[0]")


@pytest.mark.parametrize(
    ("country", "language", "expected"),
    [
        ("FR", "fr", "STOP au 36173"),
        ("ES", "fr", f"Baja: {URL}"),
        ("DE", "en", f"Abmelden: {URL}"),
        ("AT", "en", f"Abmelden: {URL}"),
        ("IT", "fr", f"Disiscriviti: {URL}"),
        ("NL", "fr", f"Afmelden: {URL}"),
        ("PT", "fr", f"Cancelar: {URL}"),
        ("BE", "nl", f"Afmelden: {URL}"),
        ("BE", "fr", f"Désinscription : {URL}"),
        ("CH", "it", f"Disiscriviti: {URL}"),
        ("CA", "fr", f"Désinscription : {URL}"),
        ("CA", "en", f"Opt-out: {URL}"),
        ("GB", "fr", f"Opt-out: {URL}"),
    ],
)
def test_default_footers_speak_the_recipients_language(
    country: str, language: str, expected: str
) -> None:
    from gateway.config.model import Config

    footer = footer_for(country, Config().footers, url=URL, shortcode="36173", language=language)
    assert footer is not None and footer.text == expected
    # Every default footer stays in GSM 03.38: it never turns a message into UCS-2.
    assert gsm_septets(expected) is not None


def test_every_default_footer_is_recognised_in_a_text_that_already_carries_it() -> None:
    from gateway.config.model import Config

    for entry in Config().footers:
        footer = footer_for(entry.country if entry.country != "*" else "GB", [entry], url=URL,
                            shortcode="36173", language=entry.language)
        assert footer is not None
        assert already_has_optout(f"Sale!\n{footer.text}", entry.country, footer)


@pytest.mark.parametrize(
    ("data_coding", "text", "codec"),
    [
        (0x05, "日本語のセール、今週末だけ。" * 12, "shift_jis"),
        (0x06, "Распродажа в эти выходные! " * 8, "iso8859_5"),
        (0x07, "מבצע בסוף השבוע הזה! " * 9, "iso8859_8"),
        (0x0A, "日本語のセール、今週末だけ。abc" * 10, "iso2022_jp"),
        (0x0D, "日本語のセール丂、今週末だけ。" * 10, "euc_jp"),
        (0x0E, "이번 주말 세일! 똠 " * 16, "euc_kr"),
    ],
)
def test_national_codings_carry_the_footer_in_their_own_coding(
    data_coding: int, text: str, codec: str
) -> None:
    fitted = fit(text, "STOP au 36173", data_coding)
    assert fitted.added and fitted.data_coding == data_coding and not fitted.switched_to_ucs2
    assert fitted.parts_after > 1
    for segment in fitted.segments:
        assert len(segment) <= 134
        segment.decode(codec)  # strict: every part decodes on its own
    assert "".join(s.decode(codec) for s in fitted.segments) == text + "\nSTOP au 36173"


@pytest.mark.parametrize("data_coding", [0x05, 0x06, 0x07, 0x0A, 0x0D, 0x0E])
def test_a_footer_a_national_coding_cannot_carry_is_refused_not_turned_into_ucs2(
    data_coding: int,
) -> None:
    fitted = fit("Sale", "Opt-out \U0001f6d1 no-s.ms/AbC123xyz", data_coding)  # in none
    assert not fitted.added and fitted.reason == "unencodable_footer"
    assert fitted.data_coding == data_coding
