// The sandbox package arrives with the proxy and sandbox issues; this shell keeps the workspace whole.
export {};
