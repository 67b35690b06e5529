"""Reading a review, the first stage: the file read through the one guarded reader (files),
its front matter in Jekyll's, Hugo's or Pelican's dialect (frontmatter), a blog's raw HTML
(rawhtml), markup bounded and sanitised (sanitize), the document's structure (structure), its
local images checked (images), all into one frozen Issue (document). `parse.parse_issue` is
the order of those steps."""
