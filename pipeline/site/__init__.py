"""The public web pages: the episode's page with its player, chapters and transcript (page),
and the show's home, a page per tag, 404, sitemap and robots.txt, built from the catalogue
(home)."""
