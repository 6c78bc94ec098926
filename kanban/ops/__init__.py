"""Running a site: consistent backups (``backup``), the local HTTPS authority and
certificates (``https``) and the demo site (``demo``)."""
