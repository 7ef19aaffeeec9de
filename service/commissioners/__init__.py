"""Service commissioners (服务专员): roster, assignments by specialty, service records."""
