"""Typed errors of the offers core; the API maps each to one problem+json status."""

from __future__ import annotations


class OffersError(Exception):
    """Base class so the edge can catch every offers failure in one place."""


class UnknownPlan(OffersError):
    """The plan id is not in the catalog (the API answers 404)."""

    def __init__(self, plan_id: str) -> None:
        super().__init__(f"unknown plan {plan_id!r}")
        self.plan_id = plan_id


class InvalidUsage(OffersError):
    """The request's usage cannot be judged; `field` is the path the API reports (422)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class InvalidOfferId(OffersError):
    """An offer id that `parse_offer_id` cannot read (the API answers 404)."""

    def __init__(self, offer_id: str) -> None:
        super().__init__(f"malformed offer id {offer_id!r}, expected 'FROM->TO.SIGNATURE'")
        self.offer_id = offer_id


class OfferNotForCustomer(OffersError):
    """A well-formed offer id whose signature is not the given customer's (the API: 404)."""

    def __init__(self, offer_id: str) -> None:
        super().__init__(f"offer id {offer_id!r} was not made for this customer_id")
        self.offer_id = offer_id
