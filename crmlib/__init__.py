"""crmlib: helper library behind the CRM consultant notebooks."""
__version__ = "0.1.0"
