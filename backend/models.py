"""Every ORM model of the backend, imported in one place so `Base.metadata` knows them all."""

from backend.accounts.models import User
from backend.billing.models import PaymentHistory, Subscription
from backend.db import Base

__all__ = ["Base", "PaymentHistory", "Subscription", "User"]
