"""Who is premium: the subscriptions and the rules read from them.

Below both `accounts` (which shows and checks premium) and `billing` (which writes the
subscriptions Stripe reports): neither imports the other's rules.
"""
