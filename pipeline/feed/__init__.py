"""The feed stage: the catalogue of published episodes and each new episode's place in it
(catalog: catalog.json, the source of truth any machine publishes from), the RSS 2.0 + iTunes
feed built from it (rss) with the Podcasting 2.0 extension (podcast, podcast_entry), checked
as built (validate) and as listeners' apps fetch it (verify)."""
