"""Repository checks CI runs beside lint and type checks (``make audit``)."""
