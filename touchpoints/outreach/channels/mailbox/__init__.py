"""Inbound email: the mailboxes Tsunagu reads, the mail it stored, and what it does with it.

``models``: ``Mailbox``, ``InboundMail`` (the raw message, kept), ``InboundAttachment``, ``BouncedAddress``.
``parsing``/``charsets``/``quoting``: bytes to text, Japanese encodings included. ``ingest``: store once,
then process (bounces, unsubscribes, loops, own mail here; the rest dispatched as ``inbound.Inbound``).
``fetching``: IMAP polling. Threading into tickets is feedback's (feedback/inbound_email.py).
"""
