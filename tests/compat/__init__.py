"""A compatibility site: the app installed beside the field's other
authentication classes, permissions and a site's own exception handler."""
