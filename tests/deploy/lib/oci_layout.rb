# frozen_string_literal: true

# Writes a small OCI image layout whose layers have the Windows container layer format:
# a Files/ tree (the file system) and Hives/ (registry hive deltas), the form in which
# hcsshim exports a layer. The windows2019fs rootfs is such a layout, but gigabytes big.

require "digest"
require "fileutils"
require "json"
require "rubygems/package"
require "stringio"
require "zlib"

module OciLayout
  # Files of the two layers: entry name => content (nil for a directory).
  WINDOWS_LAYERS = [
    {
      "Files/" => nil,
      "Files/Windows/" => nil,
      "Files/Windows/System32/" => nil,
      "Files/Windows/System32/drivers/" => nil,
      "Files/Windows/System32/drivers/etc/" => nil,
      "Files/Windows/System32/drivers/etc/hosts" => "127.0.0.1 localhost\r\n",
      "Files/Windows/win.ini" => "; for 16-bit app support\r\n",
      "Hives/" => nil,
      "Hives/DefaultUser_Delta" => "regf-default-user",
      "Hives/Sam_Delta" => "regf-sam",
      "Hives/Security_Delta" => "regf-security",
      "Hives/Software_Delta" => "regf-software",
      "Hives/System_Delta" => "regf-system",
    },
    {
      "Files/" => nil,
      "Files/Users/" => nil,
      "Files/Users/vcap/" => nil,
      "Files/Users/vcap/hello.txt" => "hello from the top layer\r\n",
      "Hives/" => nil,
      "Hives/Software_Delta" => "regf-software-top",
    },
  ].freeze

  def self.tar(entries)
    io = StringIO.new("".b)
    Gem::Package::TarWriter.new(io) do |writer|
      entries.each do |name, content|
        if content.nil?
          writer.mkdir(name.chomp("/"), 0o755)
        else
          writer.add_file_simple(name, 0o644, content.bytesize) { |file| file.write(content) }
        end
      end
    end
    io.string
  end

  def self.gzip(data)
    io = StringIO.new("".b)
    writer = Zlib::GzipWriter.new(io)
    writer.mtime = 0
    writer.write(data)
    writer.close
    io.string
  end

  # Stores data under blobs/sha256/ and returns its descriptor.
  def self.write_blob(dir, media_type, data)
    hex = Digest::SHA256.hexdigest(data)
    File.binwrite(File.join(dir, "blobs", "sha256", hex), data)
    { "mediaType" => media_type, "digest" => "sha256:#{hex}", "size" => data.bytesize }
  end

  # Writes the layout to dir and returns the layers' entry names. Without a tag the
  # layout has the shape hydrate gives the windows2019fs package (cloudfoundry/hydrator,
  # oci-directory/write.go): gzip OCI layers, a config with only architecture, os and
  # rootfs, a manifest without mediaType, and an index entry with no ref name. With a
  # tag, the config also has os.version and Env and the index entry names the tag.
  def self.write_windows(dir, tag: nil)
    FileUtils.mkdir_p(File.join(dir, "blobs", "sha256"))
    diff_ids = []
    layer_descriptors = WINDOWS_LAYERS.map do |entries|
      data = tar(entries)
      diff_ids << "sha256:#{Digest::SHA256.hexdigest(data)}"
      write_blob(dir, "application/vnd.oci.image.layer.v1.tar+gzip", gzip(data))
    end
    config = { "architecture" => "amd64", "os" => "windows", "rootfs" => { "type" => "layers", "diff_ids" => diff_ids } }
    if tag
      config["os.version"] = "10.0.17763.6054"
      config["config"] = { "Env" => ["PATH=C:\\Windows\\system32;C:\\Windows"], "User" => "vcap" }
    end
    config_descriptor = write_blob(dir, "application/vnd.oci.image.config.v1+json", JSON.generate(config))
    manifest = { "schemaVersion" => 2, "config" => config_descriptor, "layers" => layer_descriptors }
    manifest["mediaType"] = "application/vnd.oci.image.manifest.v1+json" if tag
    manifest_descriptor = write_blob(dir, "application/vnd.oci.image.manifest.v1+json", JSON.generate(manifest))
    manifest_descriptor["platform"] = { "architecture" => "amd64", "os" => "windows" }
    manifest_descriptor["annotations"] = { "org.opencontainers.image.ref.name" => tag } if tag
    File.write(File.join(dir, "index.json"), JSON.generate({ "schemaVersion" => 2, "manifests" => [manifest_descriptor] }))
    File.write(File.join(dir, "oci-layout"), JSON.generate({ "imageLayoutVersion" => "1.0.0" }))
    WINDOWS_LAYERS.map(&:keys)
  end
end
