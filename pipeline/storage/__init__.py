"""Storage, the last stage: S3 buckets and their objects (bucket), which storage a run talks to
(session: a configured endpoint, else the embedded store, SeaweedFS, in `embedded`), the public
URLs and keys (links), the catalogue's lock (locking), the steps that put one episode online
(upload), and what `publish feed` and `publish check` do with what is online (published)."""
