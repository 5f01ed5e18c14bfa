"""Staff accounts: the two-step login (password, then a TOTP or backup code), the Security page (password change,
two-factor enrolment), the 2FA requirement per role and the session's idle and absolute timeouts.

django-otp keeps the devices (its TOTP and static-token plugins); this package holds the flows around them.
"""
