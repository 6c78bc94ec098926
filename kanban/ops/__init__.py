"""Running a site: consistent backups (``backup``), putting one back (``restore``), which
servers and workers run on a database (``presence``), the local HTTPS authority and
certificates (``https``) and the demo site (``demo``)."""
