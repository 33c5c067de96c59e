"""Delta tables read by path: the table's current files and schema from its transaction log."""
