"""The evaluation report (评标报告): a pure data model, its hashes, and a reproducible PDF.

Layers, pure first:

- :mod:`~server.report.model`: frozen dataclasses for the report content and the members'
  signatures; they check their own shape and cross-references but compute no rule (the rules
  wiring fills them with values it computed). Time is a field, never read from a clock.
- :mod:`~server.report.signatures`: each member's signature, dissent (保留意见), or neither.
- :mod:`~server.report.codec`: plain dict <-> model, canonical JSON bytes and the content hash.
- :mod:`~server.report.fonts`: locating the embedded CJK TrueType font.
- :mod:`~server.report.pdf`: rendering with reportlab, byte for byte reproducible.

What exactly is hashed and signed
---------------------------------
1. **Content hash** = SHA-256 of :func:`~server.report.codec.content_bytes`: the canonical JSON
   (``server.auditlog.canonical``, RFC 8785 profile) of :func:`~server.report.codec.report_to_dict`,
   which carries ``"format": "evalroom.report/1"`` and holds no signature. It is printed in
   every page footer of the PDF and stored in the PDF's ``/Subject``.
2. **Report hash** (what every member signs) = SHA-256 of the *unsigned* PDF bytes from
   :func:`~server.report.pdf.render_report`. The PDF is a pure function of (content, reportlab
   version, font file): the creation date comes from ``content.generated_at`` and the file
   identifier from the content hash, so the same content renders to identical bytes on any
   machine with the same reportlab and font (the font's SHA-256 is in
   :class:`~server.report.fonts.CjkFont`; record it with the report hash). Signing the PDF
   means the members sign exactly the pages they read; the content hash in its footer binds
   those pages to the canonical JSON, which the archive keeps beside it.
3. **Final archived report** = :func:`~server.report.pdf.render_signed_report`: the same content
   pages re-rendered with the signature block appended, each entry naming the report hash it
   signed. It is a second document, not the signed one: the archive keeps the signed (unsigned
   rendering) PDF too, and anyone can re-render it from the content to check its hash.
"""
