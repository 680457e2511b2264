"""Every ORM model of the backend, imported in one place so `Base.metadata` knows them all."""

from backend.accounts.models import EmailToken, User, UserSession
from backend.billing.models import PaymentHistory, StripeCustomer, StripeEvent
from backend.db.engine import Base
from backend.entitlements.models import Subscription
from backend.ops.models import RetainedPayment, RetentionNotice
from backend.ratelimit import rate_limits

__all__ = [
    "Base",
    "EmailToken",
    "PaymentHistory",
    "RetainedPayment",
    "RetentionNotice",
    "StripeCustomer",
    "StripeEvent",
    "Subscription",
    "User",
    "UserSession",
    "rate_limits",
]
