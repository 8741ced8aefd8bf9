"""The console app: owns the screen stack and the command palette.

``kttui`` opens the sessions screen; ``kttui attach SESSION`` opens a session's
dashboard on top of it. The app only reads session files and talks to runners
over their sockets, so any number of consoles may watch one sweep, and quitting
never stops one.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from pathlib import Path
from typing import ClassVar

from textual import events
from textual.app import App, SystemCommand
from textual.await_complete import AwaitComplete
from textual.binding import Binding, BindingType
from textual.screen import Screen

from kttui.session import Session
from kttui.tui.first_frame import FirstFrame
from kttui.tui.messages import EditSpec, NewSweep, OpenSession
from kttui.tui.screens.dashboard import DashboardScreen
from kttui.tui.screens.dashboard_feed import FRAME_S
from kttui.tui.screens.home import HomeScreen

# The editor, detail, help and prompt screens are imported when first opened:
# `kttui attach` draws its first frame without loading them.


class KttuiApp(App[None]):
    """The kttui console."""

    CSS_PATH = "app.tcss"
    TITLE = "kttui"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("question_mark", "help", "Help", id="app.help"),
    ]

    def __init__(
        self,
        store: Path,
        attach: Path | None = None,
        *,
        poll_s: float = FRAME_S,
        cursor_blink: bool = True,
        launch_dir: Path | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self.attach = attach
        #: the dashboard's frame period while a sweep is live (a soak test shortens it)
        self.poll_s = poll_s
        self.cursor_blink = cursor_blink
        self.launch_dir = launch_dir
        #: one line per failure caught by an error boundary (tracebacks: console.log)
        self.errors: list[str] = []
        #: what screens put off until the first frame is drawn (kttui.tui.first_frame)
        self.first_frame = FirstFrame()

    def on_ready(self) -> None:
        # Ready follows the first layout, which at start-up may come before the terminal
        # takes output (that frame is dropped): paint once more, then run what waited
        self.screen.refresh()
        self.screen.call_after_refresh(self.first_frame.drawn)

    def on_unmount(self) -> None:
        # a worker waiting on the analysis process would hold up the exit
        from kttui.service.analysis_proc import ANALYSIS

        if ANALYSIS.busy:
            ANALYSIS.close()

    def on_mount(self) -> None:
        self.push_screen(HomeScreen(self.store))
        if self.attach is not None:
            self.push_screen(DashboardScreen(Session(self.attach), frame_s=self.poll_s))

    # -- navigation ---------------------------------------------------------------------
    def pop_screen(self) -> AwaitComplete:
        """Never pop the sessions screen (nor the one under it).

        Keys typed faster than a screen closes are all queued to that screen: five
        escapes on the help screen dismissed it five times, popping the dashboard, the
        sessions and Textual's own screen until a ScreenStackError ended the app. The
        escapes that reach the bottom now do nothing, as one escape there does.
        """
        if len(self.screen_stack) <= 2:
            return AwaitComplete.nothing()
        return super().pop_screen()

    async def on_event(self, event: events.Event) -> None:
        """Drop a key that bubbles up after the last screen closed.

        A key queued behind ``q`` (escapes typed ahead of a closing screen) reaches the
        app while it shuts down, when there is no screen left to look its binding up
        on: Textual raised ScreenStackError and the console ended with a traceback.
        """
        if isinstance(event, events.Key) and not self.screen_stack:
            return
        await super().on_event(event)

    def on_open_session(self, message: OpenSession) -> None:
        self.push_screen(DashboardScreen(message.session, frame_s=self.poll_s))

    def on_edit_spec(self, message: EditSpec) -> None:
        from kttui.tui.screens.editor import EditorScreen

        self.push_screen(
            EditorScreen(
                self.store,
                message.path,
                message.text,
                cursor_blink=self.cursor_blink,
                launch_dir=self.launch_dir,
            )
        )

    def on_new_sweep(self, message: NewSweep) -> None:
        from kttui.tui.screens.dialogs import PathPrompt

        def chosen(value: str | None) -> None:
            if value:
                self.post_message(EditSpec(Path(value).expanduser().resolve()))

        self.push_screen(
            PathPrompt(
                "Spec file to edit (a template if it does not exist yet):", message.suggested
            ),
            chosen,
        )

    def action_command_palette(self) -> None:
        """Textual's palette, with page keys that cannot fire before its list is laid out."""
        from kttui.tui.screens.palette import Palette

        if self.use_command_palette and not isinstance(self.screen, Palette):
            self.push_screen(Palette(id="--command-palette"))

    def action_help(self) -> None:
        from kttui.tui.screens.help import HelpScreen

        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self.help_sections()))

    def help_sections(self) -> list[tuple[str, list[BindingType]]]:
        from kttui.tui.screens.detail import TrialDetailScreen
        from kttui.tui.screens.editor import EditorScreen

        return [
            ("Everywhere", [*self.BINDINGS, Binding("ctrl+p", "", "Command palette")]),
            ("Sessions", list(HomeScreen.BINDINGS)),
            ("Sweep dashboard", list(DashboardScreen.BINDINGS)),
            (
                "Trial table",
                [
                    Binding("up,down", "", "Select trial"),
                    Binding("pageup,pagedown", "", "Page through trials"),
                    Binding("home,g", "", "First trial"),
                    Binding("end,G", "", "Newest trial (and follow new ones)"),
                    Binding("left,right", "", "Scroll columns"),
                ],
            ),
            ("Spec editor", list(EditorScreen.BINDINGS)),
            ("Trial detail", list(TrialDetailScreen.BINDINGS)),
        ]

    # -- command palette ------------------------------------------------------------------
    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        seen = set()
        for key, active in screen.active_bindings.items():
            binding = active.binding
            if not active.enabled or not binding.description or binding.action in seen:
                continue
            seen.add(binding.action)
            yield SystemCommand(
                binding.description,
                binding.tooltip or f"key: {self.get_key_display(binding) or key}",
                partial(self.run_action, binding.action, active.node),
            )
        if isinstance(screen, DashboardScreen):
            for title, help_text, (column, reverse) in screen.palette_commands():
                yield SystemCommand(title, help_text, partial(screen.sort_by, column, reverse))
