"""The transfer engine: one async transfer, the planner-owned runtime that runs it, the overlap
policy, copies for outlets and resources that live as long as an event loop."""
