"""The narrated episode: the review as a script (narration, spoken, lexicon), spoken by piper
(tts), mastered in blocks while the voice speaks (mastering, loudness), tagged (tags), and
joined into the MP3 with its transcript and chapters (episode). Importing this package is
cheap; numpy and the voice load only with the modules that need them."""
