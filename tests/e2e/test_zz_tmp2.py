import asyncio
async def test_long(make_client, echo_component):
    echo_component()
    a = await make_client("alice")
    print("READY", flush=True)
    await asyncio.sleep(50)
