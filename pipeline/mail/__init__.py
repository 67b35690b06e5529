"""The newsletter as mail: composing the issue's HTML, text and .eml (compose), the MIME
message and header policy (message), subscribers and their unsubscribe tokens (subscribers,
unsubscribe), the send log (sendlog) and delivery over SMTP or SES (delivery). `send.py`
knows the order of a send."""
