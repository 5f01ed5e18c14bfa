"""Wallet passes of the member card: an Apple Wallet store card (.pkpass) and a Google Wallet loyalty object,
each showing the balance and the card's QR token, kept up to date when the balance changes. Both are optional:
without their settings (``config.py``) the card shows no wallet button."""
