"""Which bins get labels and in what form: selection, options and rendering jobs on top
of :mod:`kanban.barcodes`. Entry module: ``selection``."""
