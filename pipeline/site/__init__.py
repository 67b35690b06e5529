"""The public web pages: the episode's page (page); the show's home page will live here."""
