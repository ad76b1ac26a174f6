from connect.http.jobs import server_timing


def test_server_timing_splits_the_call_into_the_plugin_share_and_comfyui_share() -> None:
    # 5 ms in the handler, of which 3 ms waiting for ComfyUI: the plugin's own share is 2 ms.
    assert server_timing(0.005, 0.003) == "connect;dur=2.00, comfyui;dur=3.00"
