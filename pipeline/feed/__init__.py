"""The feed stage: the catalogue of published episodes (catalog: catalog.json, the source of
truth any machine publishes from), the RSS 2.0 + iTunes + Podcasting 2.0 feed built from it
(rss), and the published feed checked over HTTP as listeners' apps read it (verify)."""
