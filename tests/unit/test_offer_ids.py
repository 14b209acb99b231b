"""Offer ids name the customer they were made for: any other customer's is refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.offers import InvalidOfferId, OfferNotForCustomer, sign_offer_id, verify_offer_id

SECRET = b"s" * 32
PAIR = "basic-100gb->plus-2tb"


def test_an_id_reads_back_as_its_pair_for_its_customer_only() -> None:
    offer = sign_offer_id(SECRET, "u-17", PAIR)

    assert offer.startswith(PAIR + ".")
    assert verify_offer_id(SECRET, "u-17", offer) == PAIR
    with pytest.raises(OfferNotForCustomer):
        verify_offer_id(SECRET, "u-18", offer)
    with pytest.raises(OfferNotForCustomer):
        verify_offer_id(b"t" * 32, "u-17", offer)  # another secret: a rotated one


def test_a_signature_moved_to_another_pair_is_refused() -> None:
    signature = sign_offer_id(SECRET, "u-17", PAIR).rpartition(".")[2]
    with pytest.raises(OfferNotForCustomer):
        verify_offer_id(SECRET, "u-17", f"basic-100gb->business-5tb.{signature}")


@pytest.mark.parametrize(
    "offer", [PAIR, f"{PAIR}.", f"{PAIR}.short", ".AAAAAAAAAAAAAAAAAAAAAA", f"{PAIR}.{'é' * 22}"]
)
def test_an_id_without_a_well_formed_signature_is_invalid(offer: str) -> None:
    with pytest.raises((InvalidOfferId, OfferNotForCustomer)):
        verify_offer_id(SECRET, "u-17", offer)


@given(first=st.text(max_size=20), second=st.text(max_size=20), pair=st.text(max_size=20))
def test_no_two_customers_share_an_id(first: str, second: str, pair: str) -> None:
    if first != second:
        assert sign_offer_id(SECRET, first, pair) != sign_offer_id(SECRET, second, pair)
