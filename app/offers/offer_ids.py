"""Offer ids bound to the customer they were made for: `FROM->TO.SIGNATURE`.

The signature is an HMAC of the customer id and the plan pair under a secret the store
keeps, so an accept or a decline names the customer it was made for: an id seen by (or
guessed for) one customer is refused for every other. The pair before the dot is what
analyses group by; the signature only vouches for it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from app.offers.errors import InvalidOfferId, OfferNotForCustomer

SIGNATURE_SEPARATOR = "."  # base64url never contains it, so the last one ends the pair
SIGNATURE_BYTES = 16  # 128 bits: guessing one is out of reach
_SIGNATURE_CHARS = 22  # unpadded base64url of SIGNATURE_BYTES
_CONTEXT = b"cartlift offer id v1\x00"


def sign_offer_id(secret: bytes, customer_id: str, pair_id: str) -> str:
    """The id of the offer `pair_id` (`FROM->TO`) made to `customer_id`."""
    return f"{pair_id}{SIGNATURE_SEPARATOR}{_signature(secret, customer_id, pair_id)}"


def verify_offer_id(secret: bytes, customer_id: str, offer_id: str) -> str:
    """The `FROM->TO` pair of an offer id made to this customer.

    Raises InvalidOfferId when it carries no signature, OfferNotForCustomer when the
    signature is not this customer's (another customer's id, or a made-up one).
    """
    pair_id, separator, signature = offer_id.rpartition(SIGNATURE_SEPARATOR)
    if not separator or not pair_id or len(signature) != _SIGNATURE_CHARS:
        raise InvalidOfferId(offer_id)
    expected = _signature(secret, customer_id, pair_id)
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        raise OfferNotForCustomer(offer_id)
    return pair_id


def _signature(secret: bytes, customer_id: str, pair_id: str) -> str:
    # Lengths first, so no two (customer, pair) ever sign the same bytes.
    customer, pair = customer_id.encode(), pair_id.encode()
    message = b"%s%d:%s%d:%s" % (_CONTEXT, len(customer), customer, len(pair), pair)
    digest = hmac.new(secret, message, hashlib.sha256).digest()[:SIGNATURE_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
