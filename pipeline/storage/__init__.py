"""Storage, the last stage: S3 buckets and their objects (bucket), which storage a run talks to
(session: a configured endpoint, else the embedded SeaweedFS in `embedded`), the public URLs and
keys (links), the catalogue's lock (locking), and putting one episode online in an order that
keeps the feed true at every moment (upload)."""
