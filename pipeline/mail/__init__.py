"""The newsletter as mail: composing the issue's HTML, text and .eml (compose), the MIME
message and header policy (message), an address's one normal form and keyed digest (address),
subscribers read from a CSV (subscribers), unsubscribe
and Undo tokens (unsubscribe) and the key that signs them (secret), the list's private store
(liststore), the unsubscribe service (service), the send log (sendlog) and delivery over SMTP or
SES (delivery). `send.py` knows the order of a send."""
