"""The interactive console (Textual): a thin shell over :mod:`kttui.service`."""
