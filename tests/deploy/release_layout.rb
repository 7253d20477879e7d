# frozen_string_literal: true

# Checks a BOSH release directory against the rules `bosh create-release` (bosh-cli v7)
# enforces, read from its release/job and release/pkg directory readers: job directory
# names, the packaging file, package file patterns, config files and blobs. Three checks
# are stricter than the CLI: every job has a monit file (the director reads it), a
# package directory is named as its spec, and no files pattern names packaging or
# pre_packaging.
# NOTE: the bosh CLI is not packaged for Debian and cannot be installed here, so these
# rules are our reading of it. `bosh create-release` itself has not run on this tree.
#
# Usage: ruby release_layout.rb RELEASE_DIR   (prints each problem; exit status 1 if any)

require "digest"
require "yaml"

module ReleaseLayout
  BLOB_SHA = /\A(?:[0-9a-f]{40}|sha256:[0-9a-f]{64})\z/.freeze
  BLOBSTORE_PROVIDERS = %w[local s3 gcs].freeze

  # Returns the list of problems of the release in dir; empty when it is valid.
  def self.check(dir)
    problems = []
    check_final(dir, problems)
    blobs = check_blobs(dir, problems)
    packages = check_packages(dir, blobs, problems)
    check_jobs(dir, packages, problems)
    problems
  end

  def self.load_yaml(path, problems)
    YAML.safe_load(File.read(path), aliases: false)
  rescue Psych::Exception => e
    problems << "#{path}: invalid YAML: #{e.message}"
    nil
  end

  def self.check_final(dir, problems)
    path = File.join(dir, "config", "final.yml")
    return problems << "#{path} is missing: it names the release" unless File.file?(path)

    final = load_yaml(path, problems)
    return problems << "#{path} must be a mapping" unless final.is_a?(Hash)

    if final.key?("name") && final.key?("final_name")
      problems << "#{path} sets both name and final_name; keep one"
    elsif final["name"].to_s.empty? && final["final_name"].to_s.empty?
      problems << "#{path} has no name"
    end
    blobstore = final["blobstore"]
    return if blobstore.nil?

    provider = blobstore.is_a?(Hash) ? blobstore["provider"] : nil
    unless BLOBSTORE_PROVIDERS.include?(provider)
      problems << "#{path}: blobstore.provider must be one of #{BLOBSTORE_PROVIDERS.join(", ")}, got #{provider.inspect}"
    end
    if provider == "local" && blobstore.dig("options", "blobstore_path").to_s.empty?
      problems << "#{path}: a local blobstore needs options.blobstore_path"
    end
  end

  # Returns the blob paths the index lists.
  def self.check_blobs(dir, problems)
    path = File.join(dir, "config", "blobs.yml")
    unless File.file?(path)
      problems << "#{path} is missing; an empty index is '--- {}'"
      return []
    end
    index = load_yaml(path, problems)
    index = {} if index.nil? && File.read(path).strip.match?(/\A(---)?\z/)
    unless index.is_a?(Hash)
      problems << "#{path} must be a mapping of blob paths"
      return []
    end

    index.each do |blob, entry|
      check_blob(dir, path, blob, entry, problems)
    end
    index.keys
  end

  def self.check_blob(dir, index_path, blob, entry, problems)
    unless entry.is_a?(Hash) && entry["size"].is_a?(Integer) && entry["sha"].to_s.match?(BLOB_SHA)
      problems << "#{index_path}: #{blob} needs an integer size and a sha (40 hex digits or sha256:64 hex digits)"
      return
    end
    local = File.join(dir, "blobs", blob)
    if File.file?(local)
      check_local_blob(index_path, blob, entry, local, problems)
    elsif entry["object_id"].to_s.empty?
      problems << "#{index_path}: #{blob} has no object_id and blobs/#{blob} is missing; stage it again"
    end
  end

  def self.check_local_blob(index_path, blob, entry, local, problems)
    if File.size(local) != entry["size"]
      problems << "#{index_path}: #{blob} size #{entry["size"]} differs from blobs/#{blob} (#{File.size(local)} bytes)"
    end
    sha = entry["sha"]
    actual = sha.start_with?("sha256:") ? "sha256:#{Digest::SHA256.file(local).hexdigest}" : Digest::SHA1.file(local).hexdigest
    problems << "#{index_path}: #{blob} sha #{sha} differs from blobs/#{blob} (#{actual})" if actual != sha
  end

  # Returns the names of the release's packages.
  def self.check_packages(dir, blobs, problems)
    specs = {}
    Dir.glob(File.join(dir, "packages", "*")).sort.each do |package_dir|
      next unless File.directory?(package_dir)

      spec = check_package(dir, package_dir, blobs, problems)
      specs[File.basename(package_dir)] = spec if spec
    end
    specs.each do |name, spec|
      Array(spec["dependencies"]).each do |dependency|
        next if specs.key?(dependency)

        problems << "package #{name} depends on #{dependency}, which the release does not have"
      end
    end
    check_dependency_cycles(specs, problems)
    specs.keys
  end

  def self.check_package(dir, package_dir, blobs, problems)
    name = File.basename(package_dir)
    spec_path = File.join(package_dir, "spec")
    if !File.file?(spec_path)
      if File.file?(File.join(package_dir, "spec.lock")) &&
         !File.file?(File.join(dir, ".final_builds", "packages", name, "index.yml"))
        problems << "vendored package #{name} needs .final_builds/packages/#{name}/index.yml"
      elsif !File.file?(File.join(package_dir, "spec.lock"))
        problems << "package #{name} has no spec"
      end
      return nil
    end
    spec = load_yaml(spec_path, problems)
    unless spec.is_a?(Hash)
      problems << "#{spec_path} must be a mapping"
      return nil
    end

    if spec["name"] != name
      problems << "package directory '#{name}' differs from the name '#{spec["name"]}' in its spec"
    end
    unless File.file?(File.join(package_dir, "packaging"))
      problems << "Expected to find '#{File.join(package_dir, "packaging")}' for package '#{name}'"
    end
    check_package_files(dir, name, spec, blobs, problems)
    spec
  end

  def self.check_package_files(dir, name, spec, blobs, problems)
    Array(spec["files"]).each do |pattern|
      if %w[packaging pre_packaging].include?(File.basename(pattern))
        problems << "package #{name} lists #{pattern} in files; packaging scripts must not be listed"
        next
      end
      in_src = Dir.glob(pattern, base: File.join(dir, "src")).any? { |f| File.file?(File.join(dir, "src", f)) }
      in_blobs = Dir.glob(pattern, base: File.join(dir, "blobs")).any? { |f| File.file?(File.join(dir, "blobs", f)) }
      in_index = blobs.any? { |blob| File.fnmatch?(pattern, blob, File::FNM_PATHNAME) }
      problems << "Missing files for pattern '#{pattern}' of package #{name}" unless in_src || in_blobs || in_index
    end
  end

  def self.check_dependency_cycles(specs, problems)
    visiting = {}
    visit = lambda do |name, path|
      return if visiting[name] == :done
      return problems.push("package dependency cycle: #{(path + [name]).join(" -> ")}") if visiting[name] == :open

      visiting[name] = :open
      Array(specs.dig(name, "dependencies")).each { |dependency| visit.call(dependency, path + [name]) if specs.key?(dependency) }
      visiting[name] = :done
    end
    specs.each_key { |name| visit.call(name, []) }
  end

  def self.check_jobs(dir, packages, problems)
    job_dirs = Dir.glob(File.join(dir, "jobs", "*")).select { |path| File.directory?(path) }.sort
    problems << "#{dir}/jobs has no job" if job_dirs.empty?
    job_dirs.each { |job_dir| check_job(job_dir, packages, problems) }
  end

  def self.check_job(job_dir, packages, problems)
    name = File.basename(job_dir)
    spec_path = File.join(job_dir, "spec")
    return problems << "job #{name} has no spec" unless File.file?(spec_path)

    spec = load_yaml(spec_path, problems)
    return problems << "#{spec_path} must be a mapping" unless spec.is_a?(Hash)

    problems << "Job directory '#{name}' does not match job name '#{spec["name"]}' in spec" if spec["name"] != name
    problems << "job #{name} has no monit file; the director reads it (an empty file is fine)" unless File.file?(File.join(job_dir, "monit"))
    check_job_templates(job_dir, name, spec, problems)
    Array(spec["packages"]).each do |package|
      problems << "job #{name} uses package #{package}, which the release does not have" unless packages.include?(package)
    end
    check_job_properties(name, spec, problems)
    check_job_links(name, spec, problems)
  end

  def self.check_job_templates(job_dir, name, spec, problems)
    templates = spec["templates"] || {}
    return problems << "job #{name}: templates must be a mapping of source to destination" unless templates.is_a?(Hash)

    templates.each_key do |src|
      problems << "job #{name}: template #{src} is missing from templates/" unless File.file?(File.join(job_dir, "templates", src))
    end
    templates.values.group_by(&:itself).each do |dest, same|
      problems << "job #{name}: #{same.size} templates render to #{dest}" if same.size > 1
    end
  end

  def self.check_job_properties(name, spec, problems)
    properties = spec["properties"] || {}
    return problems << "job #{name}: properties must be a mapping" unless properties.is_a?(Hash)

    properties.each do |property, definition|
      next if definition.nil? || definition.is_a?(Hash)

      problems << "job #{name}: property #{property} must map to description/default/example"
    end
  end

  def self.check_job_links(name, spec, problems)
    %w[provides consumes].each do |kind|
      Array(spec[kind]).each do |link|
        next if link.is_a?(Hash) && !link["name"].to_s.empty? && !link["type"].to_s.empty?

        problems << "job #{name}: every #{kind} entry needs a name and a type, got #{link.inspect}"
      end
    end
  end
end

if $PROGRAM_NAME == __FILE__
  if ARGV.length != 1
    warn "usage: ruby release_layout.rb RELEASE_DIR"
    exit 2
  end
  problems = ReleaseLayout.check(ARGV[0])
  problems.each { |problem| puts problem }
  puts "release_layout: #{problems.size} problem(s) in #{ARGV[0]}"
  exit(problems.empty? ? 0 : 1)
end
