from importlib import import_module

Migration = import_module("apps.operations.migrations.0001_initial").Migration
