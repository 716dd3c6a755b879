export default {
  async fetch(request: Request): Promise<Response> {
    const body = await request.arrayBuffer();
    return new Response(String(body.byteLength));
  },
} satisfies ExportedHandler;
