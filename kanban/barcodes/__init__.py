"""Barcodes: decoding uploaded photos, rendering bin labels, drawing command barcodes.

This package owns everything that touches a barcode library, and is the only place in
kanban that imports one: python-barcode (``barcode``) in :mod:`.code128`, ``zxingcpp`` in
:mod:`.decode_zxing` and ``pyzbar`` in :mod:`.decode_zbar`. It knows nothing about the
database or Flask.

Entry points (callers import from these, not from the modules behind them):

* :mod:`kanban.barcodes.decode`: decode the codes in an uploaded image, isolated in a
  worker process with a time bound (``decode_bytes``) or inline (``decode_image_inline``),
  plus the upload limits and the GTIN normalisation. Behind it: ``decode_results``,
  ``decode_images``, ``decode_preprocess``, ``decode_locate``, ``decode_zxing``,
  ``decode_zbar``, ``decode_pipeline`` and ``decode_pool`` (docs/manual/decoding.md).
* :mod:`kanban.barcodes.labels`: bin labels as PNG, SVG, PDF sheets and ZPL, with the label
  presets. Behind it: ``label_presets``, ``label_geometry``, ``label_text``, ``label_png``,
  ``label_svg``, ``label_pdf`` and ``label_zpl``.
* :mod:`kanban.barcodes.commands`: the command barcodes of the printable command sheet.
* :mod:`kanban.barcodes.zpl`: ZPL field escaping and a structural ZPL parser.
"""
