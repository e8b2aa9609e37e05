import http.server, urllib.parse, sys, os
MODE_FILE = "/tmp/tfgen/mode"
def group(extra):
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<DescribeSecurityGroupsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>5f1c0b7e-1d2a-4e6b-9a31-0c8f2d7b6a54</requestId>
  <securityGroupInfo>
    <item>
      <ownerId>444444444444</ownerId>
      <groupId>sg-0c1d2e3f4a5b6c7d8</groupId>
      <groupName>network-prod-web</groupName>
      <groupDescription>HTTPS from the load balancer</groupDescription>
      <vpcId>vpc-0a1b2c3d4e5f60718</vpcId>
      <securityGroupArn>arn:aws:ec2:eu-west-1:444444444444:security-group/sg-0c1d2e3f4a5b6c7d8</securityGroupArn>
      <ipPermissions>
        <item>
          <ipProtocol>tcp</ipProtocol>
          <fromPort>443</fromPort>
          <toPort>443</toPort>
          <groups/>
          <ipRanges><item><cidrIp>10.0.0.0/16</cidrIp><description>HTTPS</description></item></ipRanges>
          <ipv6Ranges/>
          <prefixListIds/>
        </item>{extra}
      </ipPermissions>
      <ipPermissionsEgress>
        <item>
          <ipProtocol>-1</ipProtocol>
          <groups/>
          <ipRanges><item><cidrIp>0.0.0.0/0</cidrIp></item></ipRanges>
          <ipv6Ranges/>
          <prefixListIds/>
        </item>
      </ipPermissionsEgress>
      <tagSet><item><key>Name</key><value>network-prod-web</value></item></tagSet>
    </item>
  </securityGroupInfo>
</DescribeSecurityGroupsResponse>"""
SSH = """
        <item>
          <ipProtocol>tcp</ipProtocol>
          <fromPort>22</fromPort>
          <toPort>22</toPort>
          <groups/>
          <ipRanges><item><cidrIp>0.0.0.0/0</cidrIp><description>debug, remove after the incident</description></item></ipRanges>
          <ipv6Ranges/>
          <prefixListIds/>
        </item>"""
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get('Content-Length', 0))).decode()
        q = urllib.parse.parse_qs(body)
        action = q.get('Action', ['?'])[0]
        sys.stderr.write(f"{action} {body}\n")
        mode = open(MODE_FILE).read().strip() if os.path.exists(MODE_FILE) else "orig"
        if action == "DescribeSecurityGroups":
            out = group(SSH if mode == "drift" else "")
        else:
            self.send_response(400); self.send_header("Content-Type","text/xml"); self.end_headers()
            self.wfile.write(f"<Response><Errors><Error><Code>UnsupportedOperation</Code><Message>{action}</Message></Error></Errors><RequestID>x</RequestID></Response>".encode()); return
        data = out.encode()
        self.send_response(200); self.send_header("Content-Type","text/xml;charset=UTF-8"); self.send_header("Content-Length", str(len(data))); self.end_headers(); self.wfile.write(data)
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", 18080), H).serve_forever()
